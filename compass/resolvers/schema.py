"""Assembles the one schema: Director, Connector and Provisioner operations."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
    max_aliases,
    query_depth_limiter,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from compass.config import Settings
from compass.errors import CompassError
from compass.resolvers.application import ApplicationMutation, ApplicationQuery
from compass.resolvers.application_template import (
    ApplicationTemplateMutation,
    ApplicationTemplateQuery,
)
from compass.resolvers.bundle import BundleMutation
from compass.resolvers.bundle_instance_auth import BundleInstanceAuthMutation
from compass.resolvers.connector import ConnectorMutation, ConnectorQuery
from compass.resolvers.document_errors import with_document_error_codes
from compass.resolvers.eventing import EventingMutation
from compass.resolvers.execution import CompassExecutionContext
from compass.resolvers.guard import OperationGuard
from compass.resolvers.integration_system import (
    IntegrationSystemMutation,
    IntegrationSystemQuery,
)
from compass.resolvers.label import LabelDefinitionMutation, LabelDefinitionQuery
from compass.resolvers.normalize import drop_empty_argument_lists
from compass.resolvers.provisioner import ProvisionerMutation, ProvisionerQuery
from compass.resolvers.runtime import RuntimeMutation, RuntimeQuery
from compass.resolvers.runtime_context import RuntimeContextMutation, RuntimeContextQuery
from compass.resolvers.scenario_assignment import (
    ScenarioAssignmentMutation,
    ScenarioAssignmentQuery,
)
from compass.resolvers.subscription import Subscription
from compass.resolvers.system_auth import SystemAuthMutation
from compass.resolvers.tenant import TenantQuery
from compass.resolvers.webhook import WebhookMutation
from compass.schema.common import LabelInput
from compass.schema.scalars import SCALAR_MAP

__all__ = ["build_schema", "CompassSchema"]

log = logging.getLogger("compass.graphql")

Query = merge_types(
    "Query",
    (
        ApplicationQuery,
        RuntimeQuery,
        RuntimeContextQuery,
        LabelDefinitionQuery,
        TenantQuery,
        ScenarioAssignmentQuery,
        ApplicationTemplateQuery,
        IntegrationSystemQuery,
        ConnectorQuery,
        ProvisionerQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        ApplicationMutation,
        BundleMutation,
        BundleInstanceAuthMutation,
        RuntimeMutation,
        RuntimeContextMutation,
        LabelDefinitionMutation,
        WebhookMutation,
        ScenarioAssignmentMutation,
        EventingMutation,
        ApplicationTemplateMutation,
        IntegrationSystemMutation,
        SystemAuthMutation,
        ConnectorMutation,
        ProvisionerMutation,
    ),
)


class CompassSchema(strawberry.Schema):
    async def execute(self, query: str | None, *args: Any, **kwargs: Any) -> Any:
        if query:
            query = drop_empty_argument_lists(query)
        return await super().execute(query, *args, **kwargs)

    async def stream(self, query: str | None, *args: Any, **kwargs: Any) -> Any:
        """What WebSocket clients run: refused documents carry the same
        error codes as over HTTP."""
        if query:
            query = drop_empty_argument_lists(query)
        return _with_error_codes(await super().stream(query, *args, **kwargs))

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        # Expected errors are the client's business; ErrorPresenter logs the rest.
        for error in errors:
            if not isinstance(error.original_error, CompassError) and error.original_error:
                log.debug("graphql error: %s", error.message)


async def _with_error_codes(results: AsyncGenerator[Any, None]) -> AsyncIterator[Any]:
    async with contextlib.aclosing(results):
        async for result in results:
            yield with_document_error_codes(result)


def _limit(settings: Settings | None, name: str) -> int:
    return getattr(settings, name) if settings else Settings.model_fields[name].default


# Distinct documents kept parsed and validated. Only documents that parse within
# the token limit are cached, and the cache is bounded, so unique query texts
# cannot grow memory.
DOCUMENT_CACHE_SIZE = 512


class _DocumentCache(ParserCache):
    """strawberry's parser cache, except that a document that does not parse is
    left to strawberry's own parse, which reports the error as every other one."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        with contextlib.suppress(GraphQLError):
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        yield


def _limit_rules(settings: Settings | None) -> list[Any]:
    """The depth and alias limits as validation rules, made once per schema: the
    validation cache is keyed by the rule classes, so they must stay the same
    objects from one request to the next."""
    return [
        max_aliases.create_validator(_limit(settings, "max_query_aliases")),
        query_depth_limiter.create_validator(_limit(settings, "max_query_depth"), None),
    ]


def build_schema(settings: Settings | None = None) -> CompassSchema:
    """`settings` sets the limits; without them (`compass schema`) the defaults apply."""
    return CompassSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            # Factories: an extension instance lives for one request.
            partial(MaxTokensLimiter, max_token_count=_limit(settings, "max_query_tokens")),
            partial(AddValidationRules, _limit_rules(settings)),
            # After the limits: the caches use the token limit and the rules they set.
            partial(_DocumentCache, maxsize=DOCUMENT_CACHE_SIZE),
            partial(ValidationCache, maxsize=DOCUMENT_CACHE_SIZE),
            partial(OperationGuard, max_json_depth=_limit(settings, "max_json_depth")),
        ],
        # Part of the Compass contract though no operation takes it yet.
        types=[LabelInput],
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        execution_context_class=CompassExecutionContext,
    )
