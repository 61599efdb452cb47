"""Customer archives (the foundation holds the core row; the archives issue grows it)."""
from __future__ import annotations

from tortoise import fields

from app.tenant.models import TenantModel


class Customer(TenantModel):
    dealer = fields.ForeignKeyField("huifang.Dealer", related_name=False, null=True, db_constraint=False, db_index=False)
    name = fields.CharField(max_length=200)
    phone = fields.CharField(max_length=32, null=True)
    email = fields.CharField(max_length=254, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "customer"
        indexes = (("tenant_id", "dealer_id", "id"),)
