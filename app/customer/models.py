"""Customer archives: the brand's memory of every customer (MISSION.md, "Customer archives").

A customer has contact points (each with verification, consent and do-not-contact), external
references from partner systems, owned products, promises, interactions, win-back actions, a
value tier with history, a churn status, and one chronological journal (`customer_event`)
that every module appends to, so the timeline is one keyset-paginated index scan."""
from __future__ import annotations

from tortoise import fields
from tortoise.contrib.postgres.fields import ArrayField

from app.tenant.models import TenantModel

# Plain UUID columns instead of ForeignKeyFields: Tortoise would emit single-column foreign keys
# that cannot reference the composite (tenant_id, id) keys; migrations add composite ones.


class Customer(TenantModel):
    dealer_id = fields.UUIDField(null=True)  # dealer of record (servicing dealer)
    name = fields.CharField(max_length=200)
    gender = fields.CharField(max_length=16, null=True)  # female | male | other
    birth_year = fields.SmallIntField(null=True)
    preferred_language = fields.CharField(max_length=16, null=True)
    preferred_contact_hours = fields.CharField(max_length=200, null=True)
    household_notes = fields.TextField(null=True)
    hobby_notes = fields.TextField(null=True)
    tags = ArrayField("text", default=list)
    service_spend = fields.DecimalField(max_digits=14, decimal_places=2, default=0)
    referrals = fields.IntField(default=0)
    tier = fields.CharField(max_length=1, null=True)  # A | B | C
    tier_score = fields.FloatField(null=True)
    tier_updated_at = fields.DatetimeField(null=True)
    churn_status = fields.CharField(max_length=16, default="active")  # active | at_risk | lost
    lost_type = fields.CharField(max_length=40, null=True)
    churn_updated_at = fields.DatetimeField(null=True)
    last_survey_score = fields.FloatField(null=True)
    last_survey_at = fields.DatetimeField(null=True)
    open_ticket_count = fields.IntField(default=0)
    search_text = fields.TextField(default="")  # name, phones, e-mails, IM ids, external ids (trigram index)
    search_name = fields.TextField(default="")  # name and external ids: what callers without customers:pii search
    merged_into_id = fields.UUIDField(null=True)
    erased_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "customer"


class ContactPoint(TenantModel):
    customer_id = fields.UUIDField()
    channel = fields.CharField(max_length=16)  # phone | email | wechat | qq | other_im
    value = fields.CharField(max_length=254)
    normalized = fields.CharField(max_length=254)
    label = fields.CharField(max_length=40, null=True)
    verified = fields.BooleanField(default=False)
    consent = fields.BooleanField(default=True)  # may we contact the customer on this channel
    do_not_contact = fields.BooleanField(default=False)
    is_primary = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "customer_contact"
        unique_together = (("tenant_id", "customer_id", "channel", "normalized"),)


class ExternalRef(TenantModel):
    customer_id = fields.UUIDField()
    source = fields.CharField(max_length=40)
    external_id = fields.CharField(max_length=120)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "customer_external_ref"
        unique_together = (("tenant_id", "source", "external_id"),)
        indexes = (("tenant_id", "customer_id"),)


class OwnedProduct(TenantModel):
    customer_id = fields.UUIDField()
    product_model = fields.CharField(max_length=120)
    serial = fields.CharField(max_length=64, null=True)  # serial number or VIN
    purchase_date = fields.DateField(null=True)
    purchase_dealer_id = fields.UUIDField(null=True)
    purchase_reason = fields.TextField(null=True)
    usage_notes = fields.TextField(null=True)
    warranty_end = fields.DateField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "customer_product"
        indexes = (("tenant_id", "customer_id", "purchase_date"),)


class Promise(TenantModel):
    customer_id = fields.UUIDField()
    dealer_id = fields.UUIDField(null=True)
    description = fields.TextField()
    promised_by = fields.CharField(max_length=120)
    due_date = fields.DateField(null=True)
    status = fields.CharField(max_length=8, default="open")  # open | kept | broken
    resolved_at = fields.DatetimeField(null=True)
    resolution_note = fields.TextField(null=True)
    created_by = fields.UUIDField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "customer_promise"
        indexes = (("tenant_id", "customer_id", "status"), ("tenant_id", "status", "due_date"))


class Interaction(TenantModel):
    customer_id = fields.UUIDField()
    dealer_id = fields.UUIDField(null=True)
    kind = fields.CharField(max_length=16)  # call | visit | message | email
    outcome = fields.CharField(max_length=24)  # reached | no_answer | callback_requested | resolved | refused | other
    notes = fields.TextField(null=True)
    occurred_at = fields.DatetimeField()
    user_id = fields.UUIDField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "customer_interaction"
        indexes = (("tenant_id", "customer_id", "occurred_at"),)


class WinbackAction(TenantModel):
    customer_id = fields.UUIDField()
    action = fields.CharField(max_length=40)  # contact | offer | apology | visit | other
    notes = fields.TextField(null=True)
    outcome = fields.CharField(max_length=16, default="pending")  # pending | won_back | declined
    occurred_at = fields.DatetimeField()
    user_id = fields.UUIDField(null=True)

    class Meta:
        table = "customer_winback"
        indexes = (("tenant_id", "customer_id", "occurred_at"),)


class TierChange(TenantModel):
    customer_id = fields.UUIDField()
    from_tier = fields.CharField(max_length=1, null=True)
    to_tier = fields.CharField(max_length=1)
    score = fields.FloatField()
    at = fields.DatetimeField()

    class Meta:
        table = "customer_tier_change"
        indexes = (("tenant_id", "customer_id", "at"),)


class CustomerEvent(TenantModel):
    """The timeline journal. `kind`: interaction, promise, promise_resolved, purchase, survey,
    ticket, tier_changed, churn_changed, winback, merged, created, erased. `summary` holds no
    personal data beyond what the source row holds (erasure clears both)."""

    customer_id = fields.UUIDField()
    kind = fields.CharField(max_length=24)
    occurred_at = fields.DatetimeField()
    ref_type = fields.CharField(max_length=24, null=True)
    ref_id = fields.UUIDField(null=True)
    summary = fields.JSONField(default=dict)

    class Meta:
        table = "customer_event"
        indexes = (("tenant_id", "customer_id", "occurred_at", "id"),)


class TierPolicy(TenantModel):
    """The brand's value formula: score = w_purchases*products + w_spend*spend/1000 +
    w_tenure*years since first purchase + w_referrals*referrals; A >= a_min, B >= b_min, else C."""

    w_purchases = fields.FloatField(default=10)
    w_spend = fields.FloatField(default=1)
    w_tenure = fields.FloatField(default=2)
    w_referrals = fields.FloatField(default=5)
    a_min = fields.FloatField(default=40)
    b_min = fields.FloatField(default=15)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "tier_policy"
        unique_together = (("tenant_id",),)


class Tombstone(TenantModel):
    """What erasure leaves of an external reference: a hash, so that the next import from the
    same partner system does not bring the erased person back."""

    ref_hash = fields.CharField(max_length=64)
    erased_at = fields.DatetimeField()

    class Meta:
        table = "customer_tombstone"
        unique_together = (("tenant_id", "ref_hash"),)


# --- what the customer module itself registers (other modules do the same in their models.py)
from app.customer import links  # noqa: E402
from app.customer.enums import CustomerEventKind as _K  # noqa: E402

for _kind in _K:
    _ref = {_K.PROMISE: ("promise", "Promise"), _K.PROMISE_RESOLVED: ("promise", "Promise"),
            _K.PURCHASE: ("product", "OwnedProduct"), _K.MERGED: ("customer", "Customer"),
            _K.INTERACTION: ("interaction", None), _K.WINBACK: ("winback", None)}.get(_kind, (None, None))
    links.timeline_kind(_kind.value, ref_type=_ref[0], ref_node=_ref[1])

_WHO = "WHERE tenant_id = $1 AND customer_id = $2"
links.customer_table("customer_contact", erase=(f"DELETE FROM customer_contact {_WHO}",))
links.customer_table("customer_external_ref", erase=(f"DELETE FROM customer_external_ref {_WHO}",))
links.customer_table("customer_product", erase=(
    f"UPDATE customer_product SET serial = NULL, purchase_reason = NULL, usage_notes = NULL {_WHO}",))
links.customer_table("customer_promise", erase=(
    f"UPDATE customer_promise SET description = '[erased]', resolution_note = NULL, promised_by = '[erased]' {_WHO}",))
links.customer_table("customer_interaction", erase=(f"UPDATE customer_interaction SET notes = NULL {_WHO}",))
links.customer_table("customer_winback", erase=(f"UPDATE customer_winback SET notes = NULL {_WHO}",))
# the duplicate's tier history stays with it: the survivor's tier is its own
links.customer_table("customer_event", merge_where="kind <> 'tier_changed'",
                     erase=(f"UPDATE customer_event SET summary = '{{}}'::jsonb {_WHO}",))
links.customer_table("customer_tier_change", on_merge="keep")
