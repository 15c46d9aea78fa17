"""`{{name}}` marks in a template's application input, and filling them in.

Values are substituted into the strings of the parsed input, never into its
JSON text, so quotes or backslashes in a value cannot change its structure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from compass.errors import InvalidData

__all__ = ["check_placeholders", "check_values", "fill", "mark", "uses"]

_MARK = re.compile(r"\{\{([^{}]+)\}\}")


def mark(name: str) -> str:
    return "{{" + name + "}}"


def uses(text: str, names: Iterable[str]) -> bool:
    """Whether `text` holds the mark of any of `names`."""
    return any(mark(name) in text for name in names)


def check_placeholders(names: list[str], application_input: Mapping[str, Any]) -> None:
    """Names are unique and each one is used somewhere in the input."""
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InvalidData(f"placeholder names must be unique: {', '.join(duplicates)}")
    text = json.dumps(application_input, ensure_ascii=False)
    unused = [name for name in names if mark(name) not in text]
    if unused:
        raise InvalidData(
            f"placeholders not used in applicationInput: {', '.join(unused)} "
            f"(write them as {mark('name')})"
        )


def check_values(names: Iterable[str], values: Mapping[str, str]) -> None:
    """Every placeholder has a value, and every value has a placeholder."""
    declared = set(names)
    problems = []
    if missing := sorted(declared - values.keys()):
        problems.append(f"values missing for placeholders: {', '.join(missing)}")
    if unknown := sorted(values.keys() - declared):
        problems.append(f"the template has no placeholders named: {', '.join(unknown)}")
    if problems:
        raise InvalidData("; ".join(problems))


def fill(node: Any, values: Mapping[str, str]) -> Any:
    """A copy of `node` with the marks of `values` replaced in every string."""
    if isinstance(node, str):
        return _MARK.sub(lambda match: values.get(match.group(1), match.group(0)), node)
    if isinstance(node, dict):
        return {fill(key, values): fill(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [fill(item, values) for item in node]
    return node
