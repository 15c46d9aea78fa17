"""Types shared by every concept: pages, labels, errors-free small values."""

from __future__ import annotations

import strawberry

from compass.schema.scalars import Any, PageCursor

__all__ = ["PageInfo", "Pageable", "Label", "LabelFilter", "LabelInput"]


@strawberry.type(description="Where a page starts and ends, and whether more follows.")
class PageInfo:
    start_cursor: PageCursor
    end_cursor: PageCursor
    has_next_page: bool


@strawberry.interface(
    description="A page of a list: pass `pageInfo.endCursor` as `after` for the next one."
)
class Pageable:
    page_info: PageInfo
    total_count: int


@strawberry.type(description="A key with its JSON value, attached to an object.")
class Label:
    key: str
    value: Any


@strawberry.input(description="A label to set: a key and its JSON value.")
class LabelInput:
    key: str
    value: Any


@strawberry.input(
    description="Matches objects by label: the key alone, a value "
    '(`"\\"v\\""`), or an array element (`$[*] ? (@ == "v")`).'
)
class LabelFilter:
    key: str
    query: str | None = None
