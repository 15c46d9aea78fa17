"""The `scenarios` label: which applications and runtimes belong together."""

from __future__ import annotations

from typing import Any

from compass.errors import InvalidData

__all__ = [
    "DEFAULT_SCENARIO",
    "SCENARIOS_KEY",
    "check_scenarios_schema",
    "scenario_names",
    "scenarios_schema",
]

SCENARIOS_KEY = "scenarios"
DEFAULT_SCENARIO = "DEFAULT"
_SCENARIO_PATTERN = r"^[A-Za-z0-9]([-_A-Za-z0-9\s]*[A-Za-z0-9])?$"


def scenario_names(value: Any) -> list[str]:
    """The scenarios in a `scenarios` label value (empty when there is none)."""
    return [name for name in value if isinstance(name, str)] if isinstance(value, list) else []


def scenarios_schema(names: list[str]) -> dict[str, Any]:
    return {
        "type": "array",
        "minItems": 1,
        "uniqueItems": True,
        "items": {
            "type": "string",
            "pattern": _SCENARIO_PATTERN,
            "maxLength": 128,
            "enum": names,
        },
    }


def check_scenarios_schema(schema: Any) -> None:
    """The definition must stay an array of unique strings from an enum holding DEFAULT."""
    if not isinstance(schema, dict) or schema.get("type") != "array":
        raise InvalidData("the scenarios schema must be an array")
    if schema.get("uniqueItems") is not True:
        raise InvalidData("the scenarios schema must require unique items")
    items = schema.get("items")
    if not isinstance(items, dict) or items.get("type") != "string":
        raise InvalidData("the scenarios schema must be an array of strings")
    enum = items.get("enum")
    if not isinstance(enum, list) or not all(isinstance(e, str) for e in enum):
        raise InvalidData("the scenarios schema must list the scenarios in items.enum")
    if DEFAULT_SCENARIO not in enum:
        raise InvalidData(f"the {DEFAULT_SCENARIO} scenario cannot be removed")
