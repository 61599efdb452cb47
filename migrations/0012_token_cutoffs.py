"""Token lifecycle: deactivation and disabling end grants for good.

`tokens_valid_after` on app_user and partner_app: set when a user is deactivated or an app
disabled; access tokens issued (iat) at or before it are refused by the API and introspection,
so reactivating a user or re-enabling an app does not revive its old tokens."""
from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from app.core.migration_ops import StateOnly


class Migration(migrations.Migration):
    dependencies = [("huifang", "0011_customer_tombstone")]

    operations = [
        StateOnly(ops.AddField(model_name="User", name="tokens_valid_after", field=fields.DatetimeField(null=True))),
        StateOnly(ops.AddField(model_name="PartnerApp", name="tokens_valid_after", field=fields.DatetimeField(null=True))),
        ops.RunSQL([
            "ALTER TABLE app_user ADD COLUMN IF NOT EXISTS tokens_valid_after timestamptz",
            "ALTER TABLE partner_app ADD COLUMN IF NOT EXISTS tokens_valid_after timestamptz",
        ]),
    ]
