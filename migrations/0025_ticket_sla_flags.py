"""The SLA engine's picture of each ticket, kept on the ticket (app/complaint/events.py): the next due
instant of its running clocks, warned, breached; indexed for the `overdue` filter."""
from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('huifang', '0024_sla')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Ticket',
            name='sla_breached',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='Ticket',
            name='sla_due_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Ticket',
            name='sla_warned',
            field=fields.BooleanField(default=False),
        ),
        ops.RunSQL(["CREATE INDEX ticket_sla_due_idx ON ticket (tenant_id, sla_due_at) WHERE sla_due_at IS NOT NULL",
                    # raw set-based inserts (care tickets, benchmarks) need not name them
                    "ALTER TABLE ticket ALTER COLUMN sla_warned SET DEFAULT false, ALTER COLUMN sla_breached SET DEFAULT false"]),
    ]
