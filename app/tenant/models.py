"""Tenancy: brands (tenants), their dealers, users and memberships (roles).

Every tenant-owned table carries `tenant_id`; migrations add forced row-level security and make
`tenant_id` part of the primary key, unique constraints and foreign keys (Citus-ready)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from dataclasses import fields as dc_fields
from datetime import datetime

from tortoise import fields
from tortoise.contrib.postgres.fields import ArrayField
from tortoise.models import Model

from app.core.ids import uuid7
from app.core.permissions import Role


class Brand(Model):
    """The tenant. Its `id` is the tenant id of every row the brand owns."""

    id = fields.UUIDField(primary_key=True, default=uuid7)
    slug = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "brand"


class TenantModel(Model):
    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id = fields.UUIDField()

    class Meta:
        abstract = True


class Dealer(TenantModel):
    code = fields.CharField(max_length=32)
    name = fields.CharField(max_length=200)
    region = fields.CharField(max_length=64)
    time_zone = fields.CharField(max_length=64, default="Asia/Shanghai")
    city = fields.CharField(max_length=100, null=True)
    customer_count = fields.IntField(default=0)
    customer_count_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "dealer"
        unique_together = (("tenant_id", "code"),)
        indexes = (("tenant_id", "name", "id"), ("tenant_id", "region", "name", "id"), ("tenant_id", "code", "id"))


class User(TenantModel):
    email = fields.CharField(max_length=254)
    display_name = fields.CharField(max_length=200)
    is_active = fields.BooleanField(default=True)
    password_hash = fields.CharField(max_length=255, null=True)
    # set on deactivation: access tokens issued at or before it stay dead after reactivation
    tokens_valid_after = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "app_user"
        unique_together = (("tenant_id", "email"),)


class Membership(TenantModel):
    user = fields.ForeignKeyField("huifang.User", related_name="memberships", db_constraint=False, db_index=False)
    role = fields.CharEnumField(Role, max_length=32)
    dealer = fields.ForeignKeyField("huifang.Dealer", related_name=False, null=True, db_constraint=False, db_index=False)
    regions = ArrayField("text", default=list)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "membership"
        unique_together = (("tenant_id", "user_id", "role"),)
        indexes = (("tenant_id", "dealer_id"),)


# Read models for hot paths: built straight from asyncpg records (no ORM object per row).
@dataclass(slots=True, frozen=True)
class BrandRow:
    id: uuid.UUID
    slug: str
    name: str
    created_at: datetime


@dataclass(slots=True, frozen=True)
class DealerRow:
    id: uuid.UUID
    tenant_id: uuid.UUID
    code: str
    name: str
    region: str
    time_zone: str
    city: str | None
    customer_count: int
    customer_count_at: datetime | None
    created_at: datetime
    updated_at: datetime


BRAND_COLUMNS = ", ".join(f.name for f in dc_fields(BrandRow))
DEALER_COLUMNS = ", ".join(f.name for f in dc_fields(DealerRow))
