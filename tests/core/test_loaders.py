"""The per-request loaders (schema.context.Loaders): their cache (RowCache) keeps strawberry's
futures and the rows a page primed as plain values, which `load_as` and `prefetch` read as
dicts; a primed row answers at once, through `load` as well, a missing one through one batch."""
from __future__ import annotations

import uuid
from contextlib import contextmanager

import schema  # noqa: F401 - every domain's schema part registers its loaders
from app.core.tenancy import Actor, scope_for
from schema.context import Loaders, RowCache, load_as, prefetch, prime


async def test_every_loader_keeps_the_cache_load_as_reads():
    scope = scope_for(Actor.system(uuid.uuid4()))
    loaders = Loaders(scope)
    assert {"dealer", "customer", "ticket", "user"} <= set(Loaders.FETCHERS)
    for name in Loaders.FETCHERS:
        loader = getattr(loaders, name)
        assert type(loader.cache_map) is RowCache and loader.cache
        key, other = uuid.uuid4(), uuid.uuid4()
        prime(loader, {key: "row"})
        assert loader.cache_map.values == {key: "row"} and not loader.cache_map.futures  # no future per primed row
        assert load_as(loader, key, str.upper) == "ROW"
        assert await loader.load(key) == "row"  # strawberry's own load sees the primed row (a future made then)
        loader.prime(other, "strawberry's")  # strawberry's prime_many still works on this cache
        assert load_as(loader, other, str) == "strawberry's"
        loader.clear(key)
        assert not loader.cache_map.has(key)


@contextmanager
def _test_loader():
    """A loader of `Loaders` over a fetch answering "fetched <key>" for each key but "gone",
    and the batches it was asked for."""
    batches: list[list] = []

    async def fetch(scope, ids):
        batches.append(list(ids))
        return {i: f"fetched {i}" for i in ids if i != "gone"}

    name = f"_test_{uuid.uuid4().hex[:8]}"
    Loaders.FETCHERS[name] = fetch
    try:
        yield getattr(Loaders(scope_for(Actor.system(uuid.uuid4()))), name), batches
    finally:
        del Loaders.FETCHERS[name]


async def test_a_forced_prime_or_a_clear_replaces_a_primed_row():
    with _test_loader() as (loader, batches):
        prime(loader, {"k": "old"})
        loader.prime("k", "new", force=True)  # strawberry's own, forced
        assert load_as(loader, "k", str) == "new" and await loader.load("k") == "new"
        loader.clear("k")
        assert await load_as(loader, "k", str) == "fetched k" and batches == [["k"]]  # loaded again
        loader.clear("never loaded")  # no KeyError
        prime(loader, {"done": "primed"})
        assert await loader.load("done") == "primed" and batches == [["k"]]


async def test_priming_answers_a_key_waiting_in_a_batch_not_yet_sent():
    with _test_loader() as (loader, batches):
        waiting, other = loader.load("a"), loader.load("b")  # queued, the batch not dispatched yet
        prime(loader, {"a": "primed a", "c": "primed c"})
        assert await waiting == "primed a" and await other == "fetched b"
        assert batches == [["b"]]  # "a" left the batch: answered by the primed row
        assert load_as(loader, "c", str) == "primed c"
        prime(loader, {"c": "again"})  # a key the loader holds is left as it is
        assert load_as(loader, "c", str) == "primed c"


async def test_load_as_answers_primed_rows_at_once_and_batches_the_rest():
    with _test_loader() as (loader, batches):
        await prefetch({loader: ["a", "b", None, "a"]})
        assert batches == [["a", "b"]]
        assert load_as(loader, "a", str.upper) == "FETCHED A"  # at once: no awaitable
        pending = load_as(loader, "c", str.upper)
        gone = load_as(loader, "gone", str.upper)
        assert await pending == "FETCHED C" and await gone is None
        assert batches == [["a", "b"], ["c", "gone"]]
