"""Reserved: customer archive bounds and phone normalisation."""
from tortoise import migrations


class Migration(migrations.Migration):
    dependencies = [("huifang", "0013_pinyin_collation")]

    operations: list = []
