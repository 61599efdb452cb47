"""Every "now" goes through app.core.clock: the ORM's created_at/updated_at, the tier job's
timestamps and a dealer's recount time all follow a frozen clock (SLA arithmetic will too)."""
from __future__ import annotations

from datetime import datetime, timezone

from app.core import clock, db
from app.core.tenancy import Actor, scope_for
from app.customer import repository as customer_repo
from app.customer import service as customer_service
from app.customer.models import Customer, TierChange
from app.tenant import repository as tenant_repo
from app.tenant.models import Dealer
from tests.factories import make_customer

AT = datetime(2031, 5, 17, 9, 30, tzinfo=timezone.utc)


async def test_rows_written_under_a_frozen_clock_carry_its_time(brand_a):
    with clock.freeze(AT):
        c = await make_customer(brand_a)
        scope = scope_for(Actor.system(brand_a.tenant_id))
        async with db.tenant_transaction(brand_a.tenant_id):
            await customer_service.add_product(scope, c.id, product_model="X1", purchase_date=AT.date(), serial=None)
            await customer_repo.recompute_tiers(scope, customer_service.DEFAULT_POLICY, [c.id])
            await tenant_repo.recount_customers(scope, brand_a.dealers["d1"].id)
    async with db.tenant_transaction(brand_a.tenant_id):
        row = await Customer.get(tenant_id=brand_a.tenant_id, id=c.id)
        change = await TierChange.filter(tenant_id=brand_a.tenant_id, customer_id=c.id).first()
        dealer = await Dealer.get(tenant_id=brand_a.tenant_id, id=brand_a.dealers["d1"].id)
    assert row.created_at == AT and row.updated_at == AT
    assert row.tier_updated_at == AT and change is not None and change.at == AT
    assert dealer.customer_count_at == AT


async def test_datetimes_read_from_postgres_come_back_as_the_same_instant(brand_a):
    """Aware UTC values from asyncpg are kept as they are (app.core.db); every other value the
    ORM's DatetimeField meets is still converted to an aware datetime in UTC."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from tortoise.fields.data import DatetimeField

    with clock.freeze(AT):
        c = await make_customer(brand_a)
    async with db.tenant_transaction(brand_a.tenant_id):
        row = await Customer.get(tenant_id=brand_a.tenant_id, id=c.id)
    assert row.created_at == AT and row.created_at.utcoffset() == timedelta(0)
    field = DatetimeField()
    naive = field.to_python_value(datetime(2031, 5, 17, 9, 30))
    assert naive == AT and naive.utcoffset() == timedelta(0)
    shanghai = field.to_python_value(datetime(2031, 5, 17, 17, 30, tzinfo=ZoneInfo("Asia/Shanghai")))
    assert shanghai == AT and shanghai.utcoffset() == timedelta(0)
    assert field.to_python_value("2031-05-17T09:30:00+00:00") == AT
    assert field.to_python_value(None) is None


def test_utc_values_are_kept_as_they_come_only_while_the_orm_runs_in_utc():
    """The shortcut is the conversion's answer only for a UTC ORM: configured in another zone
    (or without use_tz), an aware UTC value goes through Tortoise's own conversion again."""
    from tortoise.fields.data import DatetimeField

    field, value = DatetimeField(), datetime(2031, 5, 17, 9, 30, tzinfo=timezone.utc)
    original = DatetimeField.to_python_value._hf_original
    calls = []

    def counting(self, v):
        calls.append(v)
        return original(self, v)

    try:
        for config, converted in (({"use_tz": True, "timezone": "UTC"}, False),
                                  ({"use_tz": True, "timezone": "Asia/Shanghai"}, True),
                                  ({"use_tz": False, "timezone": "UTC"}, True)):
            DatetimeField.to_python_value = counting
            db._orm_takes_utc_datetimes_as_they_come(config)
            calls.clear()
            assert field.to_python_value(value) is not None
            assert bool(calls) is converted, config
    finally:
        DatetimeField.to_python_value = original
        db._orm_takes_utc_datetimes_as_they_come({"use_tz": True, "timezone": "UTC"})  # as init_orm left it
    assert db._KEEP_UTC[0] and DatetimeField.to_python_value._hf_original is original
