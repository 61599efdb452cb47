"""Read rows (app.core.rows): every model read as a row holds, attribute for attribute, what the
ORM object Tortoise builds from the same record holds (values and their types), for rows with
every kind of column set and left empty; a row cannot be changed."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from app.complaint.models import Ticket
from app.core import db
from app.core.rows import reader
from app.customer.models import Customer
from tests.factories import make_brand


def _same(row, orm, names):
    for n in names:
        a, b = getattr(row, n), getattr(orm, n)
        assert a == b and type(a) is type(b), (n, a, b)
    assert row.pk == orm.pk


async def _both(model, pk, tenant_id):
    r = reader(model)
    table = model._meta.db_table
    async with db.tenant_transaction(tenant_id):
        records = await db.fetch(f"SELECT {r.columns('x')} FROM {table} x WHERE x.id = $1", [pk])
        dicts = await db.conn().execute_query_dict(f"SELECT * FROM {table} WHERE id = $1", [pk])
    return r.row(records[0]), model._init_from_db(**dicts[0])


async def test_ticket_and_customer_rows_hold_what_the_orm_objects_hold():
    brand = await make_brand("rows")
    now = dt.datetime(2026, 12, 4, 8, 30, tzinfo=dt.timezone.utc)
    async with db.tenant_transaction(brand.tenant_id):
        full = await Customer.create(tenant_id=brand.tenant_id, dealer_id=brand.dealers["d1"].id, name="满", gender="female",
                                     birth_year=1988, tags=["vip", "车主"], service_spend=Decimal("1234.50"), referrals=3,
                                     tier="A", tier_score=0.75, tier_updated_at=now, last_survey_score=4.5,
                                     last_survey_at=now, search_text="满", search_name="满")
        empty = await Customer.create(tenant_id=brand.tenant_id, dealer_id=None, name="空", search_text="空", search_name="空")
        ticket = await Ticket.create(tenant_id=brand.tenant_id, number="T-R-1", customer_id=full.id, dealer_id=brand.dealers["d1"].id,
                                     status="contacted", source="hotline", title="异响", tags=["door", {"k": 1}],
                                     compensation_value=Decimal("88.8"), sla_due_at=now, severity="high", priority="urgent",
                                     created_by="system")
        bare = await Ticket.create(tenant_id=brand.tenant_id, number="T-R-2", customer_id=empty.id, source="web", title="x",
                                   created_by="system")
    for model, pk in ((Customer, full.id), (Customer, empty.id), (Ticket, ticket.id), (Ticket, bare.id)):
        names = reader(model).names
        assert set(names) == set(model._meta.fields_db_projection)  # every column, none left out
        row, orm = await _both(model, pk, brand.tenant_id)
        _same(row, orm, names)
    row, _ = await _both(Ticket, ticket.id, brand.tenant_id)
    assert row.tags == ["door", {"k": 1}] and row.compensation_value == Decimal("88.80")  # JSON decoded, decimal quantised
    with pytest.raises(AttributeError):
        row.status = "closed"  # immutable: a write takes the ORM object
    customer, _ = await _both(Customer, full.id, brand.tenant_id)
    assert repr(customer) == f"<CustomerRow: {full.id}>" and "满" not in str(customer)  # the key, never personal data

