"""Input conversion for application templates.

A template keeps its `applicationInput` in JSON form, with GraphQL field
names, as a client would send it in variables. Registering from a template
reads that JSON back through the same GraphQL coercion and the same
conversion as `registerApplication`, so both paths apply identical rules.
"""

from __future__ import annotations

import enum
from typing import Any

from graphql import GraphQLError, GraphQLInputType
from graphql.utilities import coerce_input_value, validate_input_value
from strawberry.schema.config import StrawberryConfig
from strawberry.types.arguments import convert_argument
from strawberry.types.base import has_object_definition
from strawberry.types.unset import UNSET

from compass.domain.application.commands import RegisterApplication
from compass.domain.application_template.commands import (
    ApplicationTemplateCommand,
    PlaceholderCommand,
)
from compass.domain.application_template.placeholders import uses
from compass.domain.validation import check_max_length, check_name, check_printable
from compass.errors import InvalidData
from compass.resolvers.inputs import register_application_command
from compass.schema.application import ApplicationRegisterInput
from compass.schema.application_template import (
    ApplicationFromTemplateInput,
    ApplicationTemplateInput,
    PlaceholderDefinitionInput,
)

__all__ = [
    "application_template_command",
    "input_to_json",
    "register_command_from_json",
    "template_values",
]

_REGISTER_INPUT = "ApplicationRegisterInput"
# Stands in for an application name made of placeholders while checking a template.
_STAND_IN_NAME = "placeholder"


def input_to_json(value: Any, config: StrawberryConfig) -> Any:
    """A strawberry input value in the JSON form a client sends (unset fields left out)."""
    if isinstance(value, enum.Enum):
        definition = type(value).__strawberry_definition__
        return next(v.name for v in definition.values if v.value == value.value)
    if has_object_definition(value):
        result = {}
        for field in value.__strawberry_definition__.fields:
            item = getattr(value, field.python_name)
            if item is not None and item is not UNSET:
                result[config.name_converter.from_field(field)] = input_to_json(item, config)
        return result
    if isinstance(value, list):
        return [input_to_json(item, config) for item in value]
    return value


def register_command_from_json(schema: Any, data: Any) -> RegisterApplication:
    """`data` (JSON form of ApplicationRegisterInput) as a validated command.

    `schema` is the strawberry schema serving the request.
    """
    input_type: GraphQLInputType = schema._schema.get_type(_REGISTER_INPUT)
    problems: list[str] = []

    def collect(error: GraphQLError, path: list[str | int]) -> None:
        where = ".".join(str(part) for part in path)
        problems.append(f"{where}: {error.message}" if where else error.message)

    validate_input_value(data, input_type, collect)
    if problems:
        raise InvalidData(f"applicationInput is invalid: {'; '.join(problems)}")
    coerced = coerce_input_value(data, input_type)
    source = convert_argument(
        coerced,
        ApplicationRegisterInput,
        schema.schema_converter.scalar_registry,
        schema.config,
    )
    return register_application_command(source)


def _placeholder(source: PlaceholderDefinitionInput) -> PlaceholderCommand:
    check_name("placeholder name", source.name)
    check_max_length("placeholder description", source.description, 2000)
    return PlaceholderCommand(name=source.name, description=source.description)


def application_template_command(
    source: ApplicationTemplateInput, schema: Any
) -> ApplicationTemplateCommand:
    """Checks the template's shape, and that its application input would register
    (an application name holding placeholders is checked once filled in)."""
    check_printable("application template name", source.name, 100)
    check_max_length("description", source.description, 2000)
    placeholders = [_placeholder(p) for p in source.placeholders or []]
    application_input = input_to_json(source.application_input, schema.config)
    names = [p.name for p in placeholders]
    checked = dict(application_input)
    if uses(checked["name"], names):
        checked["name"] = _STAND_IN_NAME
    register_command_from_json(schema, checked)
    return ApplicationTemplateCommand(
        name=source.name,
        description=source.description,
        application_input=application_input,
        placeholders=placeholders,
        access_level=source.access_level.value,
    )


def template_values(source: ApplicationFromTemplateInput) -> dict[str, str]:
    check_printable("templateName", source.template_name, 100)
    values: dict[str, str] = {}
    for item in source.values or []:
        if item.placeholder in values:
            raise InvalidData(f"placeholder {item.placeholder!r} has more than one value")
        values[item.placeholder] = item.value
    return values
