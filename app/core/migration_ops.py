"""Migration helpers Tortoise does not ship."""
from __future__ import annotations

from tortoise.migrations.operations import TortoiseOperation


class StateOnly(TortoiseOperation):
    """Apply an operation to the migration state only (the database already matches), like
    Django's SeparateDatabaseAndState. Used when a relation field becomes a plain column of the
    same name (`dealer` FK -> `dealer_id` UUID) so no data is dropped."""

    def __init__(self, operation: TortoiseOperation):
        self.operation = operation

    def describe(self) -> str:
        return f"(state only) {self.operation.describe()}"

    def state_forward(self, app_label, state) -> None:
        self.operation.state_forward(app_label, state)
