"""JSON Schemas that clients give us (label definitions, instance auth request
schemas): checked when saved, evaluated without any I/O and in bounded time.

- `$ref` is local only: the registry retrieves nothing, so no URL or file is
  ever read; a non-local `$ref` is refused when the schema is saved.
- A schema that refers to itself without descending into the value (`{"$ref": "#"}`)
  never finishes evaluating: it is refused when saved.
- `pattern` and `patternProperties` match on RE2 (google-re2), in time linear
  in the value. jsonschema itself still joins `patternProperties` on Python's
  backtracking engine for `additionalProperties`, so a pattern with nested
  unbounded quantifiers (`^(a+)+$`) or a back reference is refused as well.

jsonschema and referencing are loaded with the first schema, not at start-up.
"""

from __future__ import annotations

import re
import re._parser as sre_parse  # type: ignore[import-not-found]
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import re2

from compass.domain.limits import Limits, json_depth
from compass.errors import InvalidData

__all__ = ["best_error", "check_json_schema", "schema_validator", "violation"]

_REF_KEYWORDS = ("$ref", "$dynamicRef", "$recursiveRef")
_REPEATS = (
    sre_parse.MAX_REPEAT,
    sre_parse.MIN_REPEAT,
    getattr(sre_parse, "POSSESSIVE_REPEAT", None),
)
# Values a schema is tried on when saved: an endless self-reference shows on any.
_PROBES = (None, {}, [], "", 0)


def _retrieve_nothing(uri: str) -> Any:
    from referencing.exceptions import NoSuchResource

    raise NoSuchResource(ref=uri)


@lru_cache(maxsize=1)
def _registry() -> Any:
    from referencing import Registry

    return Registry(retrieve=_retrieve_nothing)  # type: ignore[call-arg]


@lru_cache(maxsize=1024)
def _linear(pattern: str) -> Any:
    return re2.compile(pattern)


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    """`pattern` on RE2, whose time is linear in the value whatever the pattern."""
    if validator.is_type(instance, "string") and not _linear(pattern).search(instance):
        from jsonschema.exceptions import ValidationError

        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: dict[str, Any], instance: Any, schema: Any
) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if _linear(pattern).search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


@lru_cache(maxsize=8)
def _linear_validator(base: type) -> Any:
    from jsonschema import validators

    return validators.extend(base, {"pattern": _pattern, "patternProperties": _pattern_properties})


def schema_validator(schema: Any) -> Any:
    """A validator of `schema` that resolves `$ref` only inside the schema and
    matches patterns on RE2."""
    from jsonschema import validators

    validator = _linear_validator(validators.validator_for(schema))
    return validator(schema, registry=_registry())


def best_error(schema: Any, value: Any) -> Any:
    """jsonschema's most relevant error of `value` against `schema`, or None."""
    from jsonschema.exceptions import best_match

    return best_match(schema_validator(schema).iter_errors(value))


def _walk(schema: Any) -> Iterator[tuple[str, Any]]:
    """Every (keyword, value) of every object in `schema`, without recursion."""
    pending = [schema]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                yield key, value
                pending.append(value)
        elif isinstance(item, list):
            pending.extend(item)


def _explosive(items: Any, in_repeat: bool = False) -> bool:
    for op, argument in items:
        if op in _REPEATS:
            low, high, sub = argument
            repeats = high == sre_parse.MAXREPEAT or high > 1
            if repeats and in_repeat:
                return True
            if _explosive(sub, in_repeat or repeats):
                return True
        elif op is sre_parse.SUBPATTERN and _explosive(argument[-1], in_repeat):
            return True
        elif op is sre_parse.BRANCH and any(_explosive(b, in_repeat) for b in argument[1]):
            return True
        elif op in (sre_parse.ASSERT, sre_parse.ASSERT_NOT) and _explosive(argument[1], in_repeat):
            return True
        elif op in (sre_parse.GROUPREF, sre_parse.GROUPREF_EXISTS):
            return True
    return False


@lru_cache(maxsize=1024)
def pattern_problem(pattern: str) -> str | None:
    """Why `pattern` may not be used, or None."""
    try:
        parsed = sre_parse.parse(pattern)
        _linear(pattern)
    except (re.error, re2.error, RecursionError, OverflowError):
        return f"pattern {pattern!r} is not a valid regular expression"
    if _explosive(list(parsed)):
        return (
            f"pattern {pattern!r} may take exponential time: nested repetition and back "
            "references are not allowed"
        )
    return None


def _check_keywords(schema: Any, field: str) -> None:
    for key, value in _walk(schema):
        if key in _REF_KEYWORDS and isinstance(value, str) and not value.startswith("#"):
            raise InvalidData(f"{field}: only local $ref (starting with '#') is allowed")
        patterns = []
        if key == "pattern" and isinstance(value, str):
            patterns = [value]
        elif key == "patternProperties" and isinstance(value, dict):
            patterns = list(value)
        for pattern in patterns:
            problem = pattern_problem(pattern)
            if problem is not None:
                raise InvalidData(f"{field}: {problem}")


def check_json_schema(
    schema: Any, field: str = "the label schema", max_depth: int = Limits().json_depth
) -> None:
    if schema is None:
        return
    if not isinstance(schema, (dict, bool)):
        raise InvalidData(f"{field} must be a JSON object")
    if json_depth(schema, max_depth) > max_depth:
        raise InvalidData(
            f"{field} is nested deeper than the limit of {max_depth} levels (max_json_depth)"
        )
    _check_keywords(schema, field)
    from jsonschema import validators
    from jsonschema.exceptions import SchemaError
    from referencing.exceptions import Unresolvable

    try:
        validators.validator_for(schema).check_schema(schema)
    except SchemaError as error:
        raise InvalidData(f"{field} is not a valid JSON Schema: {error.message}") from error
    validator = schema_validator(schema)
    for probe in _PROBES:
        try:
            for _ in validator.iter_errors(probe):
                pass
        except RecursionError as error:
            raise InvalidData(f"{field} refers to itself without end") from error
        except Unresolvable as error:
            raise InvalidData(f"{field}: $ref {error.ref!r} cannot be resolved") from error


def violation(schema: Any, value: Any) -> str | None:
    """Why `value` does not satisfy `schema`, or None when it does; a schema
    stored before these checks that cannot be evaluated refuses every value."""
    if schema is None:
        return None
    problems = [
        pattern_problem(v) for k, v in _walk(schema) if k == "pattern" and isinstance(v, str)
    ]
    if any(problems):
        return next(p for p in problems if p)
    from referencing.exceptions import Unresolvable

    try:
        error = best_error(schema, value)
    except RecursionError:
        return "the label definition's schema refers to itself without end"
    except Unresolvable as error:
        return f"the label definition's schema has a $ref that cannot be resolved: {error.ref}"
    return None if error is None else error.message
