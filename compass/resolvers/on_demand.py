"""Dataloaders made at their first use.

A request's context offers some twenty-five loaders and a request uses a few
(a small read none): building them all up front was a tenth of a small read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

__all__ = ["LoaderMap"]

K = TypeVar("K", bound=Hashable)
LoadFn = Callable[[Sequence[Any]], Awaitable[Sequence[Any]]]


class LoaderMap(dict[K, DataLoader[Any, Any]]):
    """One loader per kind (of label owner, row type, ...), made when first
    asked for from `load_fn_for(kind)`."""

    def __init__(self, load_fn_for: Callable[[K], LoadFn]) -> None:
        super().__init__()
        self._load_fn_for = load_fn_for

    def __missing__(self, kind: K) -> DataLoader[Any, Any]:
        loader = self[kind] = DataLoader(self._load_fn_for(kind))
        return loader
