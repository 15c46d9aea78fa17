"""Specification documents: which formats a type accepts, and whether the data parses."""

from __future__ import annotations

import json

import yaml
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from compass.errors import InvalidData

__all__ = ["ACCEPTED_FORMATS", "check_format", "check_spec_data", "parse_problem"]

ACCEPTED_FORMATS: dict[str, tuple[str, ...]] = {
    "OPEN_API": ("YAML", "JSON"),
    "ODATA": ("XML", "JSON"),
    "ASYNC_API": ("YAML", "JSON"),
}


def check_format(owner: str, spec_type: str, spec_format: str) -> None:
    accepted = ACCEPTED_FORMATS[spec_type]
    if spec_format not in accepted:
        raise InvalidData(
            f"{owner}: a {spec_type} specification must be {' or '.join(accepted)}, "
            f"not {spec_format}"
        )


def parse_problem(spec_format: str, data: str) -> str | None:
    """Why `data` is not a document of `spec_format`, or None when it is one."""
    try:
        if spec_format == "JSON":
            json.loads(data)
        elif spec_format == "YAML":
            parsed = yaml.safe_load(data)
            if not isinstance(parsed, (dict, list)):
                return "the YAML document is not a mapping or a list"
        elif spec_format == "XML":
            ElementTree.fromstring(data)
    except (ValueError, yaml.YAMLError, ElementTree.ParseError, DefusedXmlException) as error:
        return f"it is not valid {spec_format}: {str(error).splitlines()[0]}"
    return None


def check_spec_data(owner: str, spec_format: str, data: str) -> None:
    problem = parse_problem(spec_format, data)
    if problem is not None:
        raise InvalidData(f"{owner}: the specification does not parse: {problem}")
