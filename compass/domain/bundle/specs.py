"""Specification documents: which formats a type accepts, and whether the data parses.

The YAML and XML parsers are loaded with the first document of their format."""

from __future__ import annotations

import json
from typing import Any

from compass.domain.limits import Limits, json_depth
from compass.errors import InvalidData

__all__ = [
    "ACCEPTED_FORMATS",
    "check_format",
    "check_spec_data",
    "check_spec_size",
    "parse_problem",
]

DEFAULT_DEPTH = Limits().json_depth

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


def _parsed(spec_format: str, data: str) -> Any:
    """The document (None for XML, which is only checked, and unknown formats);
    ValueError when it does not parse."""
    if spec_format == "JSON":
        return json.loads(data)
    if spec_format == "YAML":
        import yaml

        try:
            return yaml.safe_load(data)
        except yaml.YAMLError as error:
            raise ValueError(str(error)) from error
    if spec_format == "XML":
        from defusedxml import ElementTree
        from defusedxml.common import DefusedXmlException

        try:
            ElementTree.fromstring(data)
        except (ElementTree.ParseError, DefusedXmlException) as error:
            raise ValueError(str(error)) from error
    return None


def parse_problem(spec_format: str, data: str, max_depth: int = DEFAULT_DEPTH) -> str | None:
    """Why `data` is not a document of `spec_format`, or None when it is one;
    a JSON or YAML document may nest at most `max_depth` levels."""
    too_deep = f"it is nested deeper than the limit of {max_depth} levels (max_json_depth)"
    try:
        parsed = _parsed(spec_format, data)
    except RecursionError:
        return too_deep
    except ValueError as error:
        return f"it is not valid {spec_format}: {str(error).splitlines()[0]}"
    if spec_format == "YAML" and not isinstance(parsed, (dict, list)):
        return "the YAML document is not a mapping or a list"
    if parsed is None or json_depth(parsed, max_depth) <= max_depth:
        return None
    return too_deep


def check_spec_size(owner: str, data: str, limit: int) -> None:
    size = len(data.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise InvalidData(
            f"{owner}: the data is {size} bytes, over the limit of {limit} bytes (max_spec_bytes)"
        )


def check_spec_data(
    owner: str, spec_format: str, data: str, max_depth: int = DEFAULT_DEPTH
) -> None:
    problem = parse_problem(spec_format, data, max_depth)
    if problem is not None:
        raise InvalidData(f"{owner}: the specification does not parse: {problem}")
