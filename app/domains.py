"""The one list of domain modules. Adding a module means adding its name here and writing its
own folders (README, "Adding a domain module"); everything central is derived from this list:

- `app.<name>.models`  -> the ORM's model modules (app.core.db.MODEL_MODULES), when it exists;
- `app.<name>.tasks`   -> the worker's job functions (app.core.jobs.load_task_modules);
- `app.<name>.importer` -> its bulk-import kinds (app.core.imports.kinds), when it exists;
- `app.<name>.events`  -> domain-event handlers (imported with the tasks), when it exists;
- `schema.<name>`      -> its `PART` (schema.part.SchemaPart: query and mutation classes, node
  types, DataLoader fetchers), merged into the one GraphQL schema in this order;
- SQL functions named `<name>_...` (created by its migrations) are granted to the service role.

This module names modules and imports none of them, so the core may read it."""
from __future__ import annotations

import importlib.util

# order matters only for the SDL: root fields and types are listed in this order
DOMAINS: tuple[str, ...] = ("tenant", "customer", "oauth", "audit", "survey", "complaint", "sla", "notification")

# SQL functions of the core itself (app/core): granted like a domain's
CORE_FUNCTION_PREFIXES: tuple[str, ...] = ("outbox", "events")


def _exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def app_modules(kind: str) -> list[str]:
    """`app.<domain>.<kind>` for every domain that has one (kind: models, tasks, events)."""
    return [f"app.{d}.{kind}" for d in DOMAINS if _exists(f"app.{d}.{kind}")]


def schema_packages() -> list[str]:
    return [f"schema.{d}" for d in DOMAINS if _exists(f"schema.{d}")]


def function_prefixes() -> tuple[str, ...]:
    return (*DOMAINS, *CORE_FUNCTION_PREFIXES)
