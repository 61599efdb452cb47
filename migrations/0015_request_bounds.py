"""Reserved: request bounds."""
from tortoise import migrations


class Migration(migrations.Migration):
    dependencies = [("huifang", "0014_customer_bounds")]

    operations: list = []
