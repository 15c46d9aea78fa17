"""Dataloaders made at first use: one per kind, the same one every time."""

from __future__ import annotations

from compass.resolvers.on_demand import LoaderMap


async def test_a_loader_is_made_at_its_first_use_once_per_kind():
    made: list[str] = []

    def load_fn_for(kind: str):
        made.append(kind)

        async def load(keys):
            return [f"{kind}:{key}" for key in keys]

        return load

    loaders: LoaderMap[str] = LoaderMap(load_fn_for)
    assert made == [] and len(loaders) == 0
    assert await loaders["label"].load("a") == "label:a"
    assert loaders["label"] is loaders["label"]
    assert await loaders["webhook"].load("b") == "webhook:b"
    assert made == ["label", "webhook"]
