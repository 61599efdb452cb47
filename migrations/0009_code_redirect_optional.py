"""An authorization request may omit redirect_uri when the client has one registered URI; the
code then stores none and the token request need not repeat it (RFC 6749 4.1.3)."""
from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from app.core.migration_ops import StateOnly


class Migration(migrations.Migration):
    dependencies = [("huifang", "0008_customer_search_by_permission")]

    operations = [
        StateOnly(ops.AlterField(model_name="AuthorizationCode", name="redirect_uri", field=fields.TextField(null=True))),
        ops.RunSQL(["ALTER TABLE oauth_code ALTER COLUMN redirect_uri DROP NOT NULL"]),
    ]
