from __future__ import annotations

from typing import Annotated

import strawberry

from compass.domain.pagination import MAX_PAGE_SIZE, PageRequest
from compass.domain.scenario_assignment.model import ScenarioAssignmentRow
from compass.domain.scenario_assignment.service import LabelSelector, ScenarioAssignmentService
from compass.domain.validation import check_label_key, check_max_length
from compass.errors import InvalidData
from compass.resolvers.context import Context
from compass.resolvers.convert import page_of
from compass.schema.common import Label
from compass.schema.scalars import PageCursor
from compass.schema.scenario_assignment import (
    AutomaticScenarioAssignment,
    AutomaticScenarioAssignmentPage,
    AutomaticScenarioAssignmentSetInput,
    LabelSelectorInput,
)

Info = strawberry.Info[Context, None]
In = Annotated[AutomaticScenarioAssignmentSetInput, strawberry.argument(name="in")]


def _selector(source: LabelSelectorInput) -> LabelSelector:
    check_label_key(source.key, field="selector key")
    return LabelSelector(key=source.key, value=source.value)


def _scenario(name: str) -> str:
    if not name.strip():
        raise InvalidData("scenarioName must not be empty")
    check_max_length("scenarioName", name, 128)
    return name


def _to_type(row: ScenarioAssignmentRow) -> AutomaticScenarioAssignment:
    return AutomaticScenarioAssignment(
        scenario_name=row.scenario, selector=Label(key=row.selector_key, value=row.selector_value)
    )


@strawberry.type
class ScenarioAssignmentQuery:
    @strawberry.field
    async def automatic_scenario_assignments(
        self, info: Info, first: int | None = MAX_PAGE_SIZE, after: PageCursor | None = None
    ) -> AutomaticScenarioAssignmentPage | None:
        request = PageRequest.of(first, after)
        page = await info.context.run(
            ScenarioAssignmentService, lambda service: service.list(request)
        )
        return page_of(AutomaticScenarioAssignmentPage, page, _to_type)

    @strawberry.field
    async def automatic_scenario_assignment_for_scenario(
        self, info: Info, scenario_name: str
    ) -> AutomaticScenarioAssignment | None:
        row = await info.context.run(
            ScenarioAssignmentService, lambda service: service.get_for_scenario(scenario_name)
        )
        return None if row is None else _to_type(row)

    @strawberry.field
    async def automatic_scenario_assignments_for_selector(
        self, info: Info, selector: LabelSelectorInput
    ) -> list[AutomaticScenarioAssignment]:
        command = _selector(selector)
        rows = await info.context.run(
            ScenarioAssignmentService, lambda service: service.for_selector(command)
        )
        return [_to_type(row) for row in rows]


@strawberry.type
class ScenarioAssignmentMutation:
    @strawberry.mutation(
        description="Puts the runtimes matching the selector in the scenario, now and "
        "whenever a runtime gets the label."
    )
    async def create_automatic_scenario_assignment(
        self, info: Info, in_: In
    ) -> AutomaticScenarioAssignment | None:
        scenario, selector = _scenario(in_.scenario_name), _selector(in_.selector)
        row = await info.context.run(
            ScenarioAssignmentService, lambda service: service.create(scenario, selector)
        )
        return _to_type(row)

    @strawberry.mutation(
        description="Deletes the assignment and takes the scenario away from the runtimes "
        "its selector matches."
    )
    async def delete_automatic_scenario_assignment_for_scenario(
        self, info: Info, scenario_name: str
    ) -> AutomaticScenarioAssignment | None:
        row = await info.context.run(
            ScenarioAssignmentService, lambda service: service.delete_for_scenario(scenario_name)
        )
        return _to_type(row)

    @strawberry.mutation
    async def delete_automatic_scenario_assignments_for_selector(
        self, info: Info, selector: LabelSelectorInput
    ) -> list[AutomaticScenarioAssignment]:
        command = _selector(selector)
        rows = await info.context.run(
            ScenarioAssignmentService, lambda service: service.delete_for_selector(command)
        )
        return [_to_type(row) for row in rows]
