"""Application templates: registration inputs with placeholders to fill in."""

from __future__ import annotations

import enum

import strawberry

from compass.schema.application import ApplicationRegisterInput
from compass.schema.common import Pageable, PageInfo

__all__ = [
    "ApplicationFromTemplateInput",
    "ApplicationTemplate",
    "ApplicationTemplateAccessLevel",
    "ApplicationTemplateInput",
    "ApplicationTemplatePage",
    "PlaceholderDefinition",
    "PlaceholderDefinitionInput",
    "TemplateValueInput",
]


@strawberry.enum(description="Who may use a template.")
class ApplicationTemplateAccessLevel(enum.Enum):
    GLOBAL = "GLOBAL"


@strawberry.type(description="A value to fill in, written `{{name}}` in the template.")
class PlaceholderDefinition:
    name: str
    description: str | None


@strawberry.type(description="A ready-made application registration with placeholders.")
class ApplicationTemplate:
    id: strawberry.ID
    name: str
    description: str | None
    application_input: str = strawberry.field(
        description="The registration input as JSON text, placeholders included."
    )
    placeholders: list[PlaceholderDefinition]
    access_level: ApplicationTemplateAccessLevel


@strawberry.type
class ApplicationTemplatePage(Pageable):
    data: list[ApplicationTemplate]
    page_info: PageInfo
    total_count: int


@strawberry.input
class PlaceholderDefinitionInput:
    name: str
    description: str | None = None


@strawberry.input
class ApplicationTemplateInput:
    name: str
    description: str | None = None
    application_input: ApplicationRegisterInput
    placeholders: list[PlaceholderDefinitionInput] | None = None
    access_level: ApplicationTemplateAccessLevel


@strawberry.input(description="The value of one placeholder.")
class TemplateValueInput:
    placeholder: str
    value: str


@strawberry.input(description="Which template to use, and a value for each of its placeholders.")
class ApplicationFromTemplateInput:
    template_name: str
    values: list[TemplateValueInput] | None = None
