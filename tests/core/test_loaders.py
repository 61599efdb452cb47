"""The per-request loaders (schema.context.Loaders): strawberry's default cache keyed by the key
itself, which `load_as` and `prefetch` read as a dict; a primed row answers at once, a missing
one through one batch."""
from __future__ import annotations

import uuid

from strawberry.dataloader import DefaultCache

import schema  # noqa: F401 - every domain's schema part registers its loaders
from app.core.tenancy import Actor, scope_for
from schema.context import Loaders, _cached, load_as, prefetch


async def test_every_loader_keeps_the_cache_load_as_reads():
    scope = scope_for(Actor.system(uuid.uuid4()))
    loaders = Loaders(scope)
    assert {"dealer", "customer", "ticket", "user"} <= set(Loaders.FETCHERS)
    for name in Loaders.FETCHERS:
        loader = getattr(loaders, name)
        assert type(loader.cache_map) is DefaultCache and loader.cache
        key = uuid.uuid4()
        assert loader.cache_map.cache_key_fn(key) is key  # no key function: the dict is keyed by the key
        loader.prime(key, "row")
        assert _cached(loader)[key].result() == "row"


async def test_load_as_answers_primed_rows_at_once_and_batches_the_rest():
    batches = []

    async def fetch(scope, ids):
        batches.append(list(ids))
        return {i: f"row {i}" for i in ids if i != "gone"}

    Loaders.FETCHERS["_test_rows"] = fetch
    try:
        loader = Loaders(scope_for(Actor.system(uuid.uuid4())))._test_rows
        await prefetch({loader: ["a", "b", None, "a"]})
        assert batches == [["a", "b"]]
        assert load_as(loader, "a", str.upper) == "ROW A"  # at once: no awaitable
        pending = load_as(loader, "c", str.upper)
        gone = load_as(loader, "gone", str.upper)
        assert await pending == "ROW C" and await gone is None
        assert batches == [["a", "b"], ["c", "gone"]]
    finally:
        del Loaders.FETCHERS["_test_rows"]
