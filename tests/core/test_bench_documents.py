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
