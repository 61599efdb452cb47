"""Reserved: ICU zh collation for names and regions (pinyin order)."""
from tortoise import migrations


class Migration(migrations.Migration):
    dependencies = [("huifang", "0012_token_cutoffs")]

    operations: list = []
