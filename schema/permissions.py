"""Every root field and mutation declares what it needs.

`requires(Perm.X)` — the actor must hold permission X: a user through one of their roles, an
OAuth app through a granted scope, and a user's token never beyond that user's roles (see
Actor.perms); a brand-wide permission (`admin`) only when the caller sees every dealer. That
is Scope.can, the check services make with Scope.require. `PUBLIC` — any authenticated actor
of the brand. A denied field fails with `PERMISSION_DENIED` and `extensions.missingScope`.
tests/core/test_permissions.py walks the schema and fails on any root field without a declaration;
node types declare theirs in NODE_PERMS."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import strawberry
from strawberry.permission import BasePermission

from app.core.errors import PermissionDenied
from app.core.permissions import Perm


class _Declared(BasePermission):
    perm: Perm | None = None

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        # Scope.can: held by the actor, and brand-wide permissions (admin) only for callers
        # seeing every dealer
        return self.perm is None or info.context.scope.can(self.perm)

    def on_unauthorized(self) -> None:
        raise PermissionDenied(
            f"Missing permission: this field needs the '{self.perm.value}' scope.",
            extensions={"missingScope": self.perm.value},
        )


class Public(_Declared):
    """Any authenticated actor of the brand."""

    perm = None


@lru_cache
def requires(perm: Perm) -> type[BasePermission]:
    return type(f"Requires_{perm.name}", (_Declared,), {"perm": perm, "__doc__": f"Needs '{perm.value}'."})


PUBLIC = [Public]


def needs(perm: Perm | None) -> list[type[BasePermission]]:
    return PUBLIC if perm is None else [requires(perm)]


def describe(perm: Perm | None, text: str) -> str:
    return f"{text} Requires: {'any authenticated caller' if perm is None else 'scope `' + perm.value + '`'}."
