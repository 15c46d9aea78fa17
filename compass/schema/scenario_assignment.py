"""Automatic scenario assignment: runtimes with a given label join a scenario."""

from __future__ import annotations

import strawberry

from compass.schema.common import Label, Pageable, PageInfo

__all__ = [
    "AutomaticScenarioAssignment",
    "AutomaticScenarioAssignmentPage",
    "AutomaticScenarioAssignmentSetInput",
    "LabelSelectorInput",
]


@strawberry.type(
    description="Runtimes whose label `selector.key` has the value `selector.value` "
    "belong to the scenario."
)
class AutomaticScenarioAssignment:
    scenario_name: str
    selector: Label


@strawberry.type
class AutomaticScenarioAssignmentPage(Pageable):
    data: list[AutomaticScenarioAssignment]
    page_info: PageInfo
    total_count: int


@strawberry.input(description="Matches objects whose label `key` is the string `value`.")
class LabelSelectorInput:
    key: str
    value: str


@strawberry.input
class AutomaticScenarioAssignmentSetInput:
    scenario_name: str
    selector: LabelSelectorInput
