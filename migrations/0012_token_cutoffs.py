"""Reserved: token lifecycle (deactivation and disabling end grants for good)."""
from tortoise import migrations


class Migration(migrations.Migration):
    dependencies = [("huifang", "0011_customer_tombstone")]

    operations: list = []
