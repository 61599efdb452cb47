"""The benchmarks' documents stay valid against the schema: a renamed field must fail here, not
in the middle of `make bench` or `make bench-load`."""
from __future__ import annotations

import pytest
from graphql import parse, validate

from bench import graphql_bench, load_mix
from schema import schema

DOCUMENTS = {**{f"graphql_bench.{k}": v for k, v in graphql_bench.QUERIES.items()},
             **{f"load_mix.{k}": v for k, v in vars(load_mix).items()
                if k.isupper() and isinstance(v, str) and v.lstrip().startswith(("query", "mutation", "{"))}}


def test_every_load_mix_operation_has_a_document():
    assert len(DOCUMENTS) >= 2 + 10, sorted(DOCUMENTS)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_a_benchmark_document_validates(name):
    assert validate(schema._schema, parse(DOCUMENTS[name])) == []


def test_the_load_mix_counts_a_refused_concurrent_change_as_a_conflict_not_a_success():
    changed = {"data": {"ticketRecordContact": {"ticket": None, "errors": [{"code": "TICKET_CHANGED", "message": "…"}]}}}
    other = {"data": {"ticketRecordContact": {"ticket": None, "errors": [{"code": "NOT_FOUND", "message": "…"}]}}}
    both = {"data": {"x": {"errors": [{"code": "TICKET_CHANGED"}, {"code": "RECORD_REQUIRED"}]}}}
    assert load_mix.outcome(200, changed) == "conflict"
    assert load_mix.outcome(200, other) == "error" and load_mix.outcome(200, both) == "error"
    assert load_mix.outcome(200, {"errors": [{"message": "boom"}], "data": None}) == "error"
    assert load_mix.outcome(429, {}) == "error"
    assert load_mix.outcome(200, {"data": {"ticketRecordContact": {"ticket": {"id": "t"}, "errors": []}}}) == "ok"
