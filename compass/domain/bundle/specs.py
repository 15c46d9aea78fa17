"""Specification documents: which formats a type accepts, and whether the data parses."""

from __future__ import annotations

import json

import yaml
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

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


def parse_problem(spec_format: str, data: str, max_depth: int = DEFAULT_DEPTH) -> str | None:
    """Why `data` is not a document of `spec_format`, or None when it is one;
    a JSON or YAML document may nest at most `max_depth` levels."""
    too_deep = f"it is nested deeper than the limit of {max_depth} levels (max_json_depth)"
    try:
        if spec_format == "JSON":
            parsed = json.loads(data)
        elif spec_format == "YAML":
            parsed = yaml.safe_load(data)
            if not isinstance(parsed, (dict, list)):
                return "the YAML document is not a mapping or a list"
        elif spec_format == "XML":
            ElementTree.fromstring(data)
            return None
        else:
            return None
    except RecursionError:
        return too_deep
    except (ValueError, yaml.YAMLError, ElementTree.ParseError, DefusedXmlException) as error:
        return f"it is not valid {spec_format}: {str(error).splitlines()[0]}"
    if json_depth(parsed, max_depth) > max_depth:
        return too_deep
    return None


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
