"""app.domains.DOMAINS is the one list of modules: the ORM's models, the worker's jobs, the
schema's root fields and loaders, and the service role's function grants all come from it,
and a module folder that is not on it (or a listed one that is not laid out) fails here."""
from __future__ import annotations

from pathlib import Path

from app.core import db, jobs
from app.domains import DOMAINS, app_modules, function_prefixes, schema_packages

ROOT = Path(__file__).resolve().parents[2]
NOT_DOMAINS = {"core"}  # app/core is the platform, not a domain


def test_every_module_folder_is_listed_and_laid_out():
    folders = {p.name for p in (ROOT / "app").iterdir() if (p / "__init__.py").exists()} - NOT_DOMAINS
    assert folders == set(DOMAINS), "app/<name>/ packages and app.domains.DOMAINS differ"
    for d in DOMAINS:
        for f in ("models.py", "service.py"):
            assert (ROOT / "app" / d / f).exists(), f"app/{d}/{f}"
        assert (ROOT / "schema" / d / "__init__.py").exists(), f"schema/{d}/__init__.py"
    schema_folders = {p.name for p in (ROOT / "schema").iterdir() if (p / "__init__.py").exists()} - {"graphiql"}
    assert schema_folders == set(DOMAINS), "schema/<name>/ packages and DOMAINS differ"


def test_models_tasks_and_schema_parts_come_from_the_list():
    assert db.MODEL_MODULES == ["app.core.models", *(f"app.{d}.models" for d in DOMAINS)]
    assert schema_packages() == [f"schema.{d}" for d in DOMAINS]
    jobs.load_task_modules()
    assert app_modules("tasks") == ["app.tenant.tasks", "app.customer.tasks", "app.oauth.tasks", "app.survey.tasks", "app.sla.tasks"]
    assert set(app_modules("events")) >= {"app.customer.events", "app.oauth.events", "app.notification.events", "app.sla.events"}
    # every job is named after the listed module whose tasks register it
    assert {name.split(".", 1)[0] for name in jobs.REGISTRY} <= {*DOMAINS, "events"}, sorted(jobs.REGISTRY)
    assert {"customer.import", "survey.import", "customer.recompute_tiers", "tenant.recount_dealer_customers", "oauth.purge_expired"} <= set(jobs.REGISTRY)
    assert {"sla.check", "sla.recompute"} <= set(jobs.REGISTRY) and "sla.sweep" in jobs.CRONS


def test_the_schema_is_the_sum_of_the_parts():
    import schema as schema_pkg
    from schema.context import Loaders

    parts = schema_pkg.PARTS
    assert len(parts) == len(DOMAINS)
    query_fields = schema_pkg.schema._schema.query_type.fields
    mutation_fields = schema_pkg.schema._schema.mutation_type.fields
    for part in parts:
        for q in part.queries:
            for f in q.__strawberry_definition__.fields:
                assert schema_pkg.schema.config.name_converter.get_graphql_name(f) in query_fields
        for m in part.mutations:
            for f in m.__strawberry_definition__.fields:
                assert schema_pkg.schema.config.name_converter.get_graphql_name(f) in mutation_fields
        for name, fetch in part.loaders.items():
            assert Loaders.FETCHERS[name] is fetch
    assert {"auditEvents", "partnerApps", "customers", "dealers", "node", "nodes"} <= set(query_fields)


def test_a_loader_name_cannot_be_taken_twice():
    import pytest

    from schema.context import Loaders

    taken, original = next(iter(Loaders.FETCHERS.items()))
    with pytest.raises(ValueError, match="two domains"):
        Loaders.register({taken: lambda scope, ids: None})
    assert Loaders.FETCHERS[taken] is original  # the first registration stands
    Loaders.register({taken: original})  # the same fetcher again is no conflict


async def test_each_listed_prefix_has_its_functions_granted(brand_a):
    """The service role may run every function a module created under its own name."""
    from app.core.db import fetch

    rows = await fetch(
        "SELECT p.proname, has_function_privilege(current_user, p.oid, 'EXECUTE') FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' AND p.prokind = 'f' "
        "AND p.proname LIKE ANY($1::text[])", [[f"{x}\\_%" for x in function_prefixes()]])
    names = {r[0]: r[1] for r in rows}
    assert {"customer_search_ids", "tenant_ids", "outbox_tenants", "events_tenants", "sla_due_tenants"} <= set(names)
    assert all(names.values()), {n for n, ok in names.items() if not ok}
