"""OAuth 2.0: partner apps (clients), authorization codes, refresh tokens, revocations."""
from __future__ import annotations

from tortoise import fields
from tortoise.contrib.postgres.fields import ArrayField

from app.tenant.models import TenantModel


class PartnerApp(TenantModel):
    """An OAuth client registered by a brand. `client_id` embeds the tenant id (public), so the
    token endpoint knows which tenant transaction to open before it reads anything."""

    client_id = fields.CharField(max_length=80)
    name = fields.CharField(max_length=120)
    client_type = fields.CharField(max_length=16)  # confidential | public
    grant_types = ArrayField("text", default=list)
    redirect_uris = ArrayField("text", default=list)
    scopes = ArrayField("text", default=list)
    # a plain column: Tortoise would emit a single-column FK that cannot reference dealer's
    # composite key; 0004 adds the composite (tenant_id, dealer_id) foreign key
    dealer_id = fields.UUIDField(null=True)
    first_party = fields.BooleanField(default=False)  # the brand's own front-end: no consent screen
    status = fields.CharField(max_length=16, default="active")  # active | disabled
    # set on disable: access tokens issued at or before it stay dead after re-enabling
    tokens_valid_after = fields.DatetimeField(null=True)
    secret_hash = fields.CharField(max_length=128, null=True)
    secret_hint = fields.CharField(max_length=16, null=True)  # last characters, to tell secrets apart
    previous_secret_hash = fields.CharField(max_length=128, null=True)
    previous_secret_expires_at = fields.DatetimeField(null=True)
    created_by = fields.UUIDField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "partner_app"
        unique_together = (("tenant_id", "client_id"),)
        indexes = (("tenant_id", "name", "id"),)


class AuthorizationCode(TenantModel):
    code_hash = fields.CharField(max_length=64)
    client_id = fields.CharField(max_length=80)
    user_id = fields.UUIDField()
    redirect_uri = fields.TextField(null=True)  # as sent to /authorize (None: omitted, single registered URI)
    scope = fields.TextField()
    code_challenge = fields.CharField(max_length=128)
    code_challenge_method = fields.CharField(max_length=8)
    family_id = fields.UUIDField()  # the refresh family its tokens will belong to
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "oauth_code"
        unique_together = (("tenant_id", "code_hash"),)


class RefreshToken(TenantModel):
    token_hash = fields.CharField(max_length=64)
    family_id = fields.UUIDField()
    client_id = fields.CharField(max_length=80)
    user_id = fields.UUIDField(null=True)
    scope = fields.TextField()
    expires_at = fields.DatetimeField()
    rotated_at = fields.DatetimeField(null=True)  # set when exchanged for a new one
    revoked_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "oauth_refresh_token"
        unique_together = (("tenant_id", "token_hash"),)
        indexes = (("tenant_id", "family_id"),)


class TokenRevocation(TenantModel):
    """Revoked access tokens (by jti) or whole families; checked on every API request in the
    same statement that loads the actor. Rows may be purged after `expires_at`."""

    jti = fields.CharField(max_length=64, null=True)
    family_id = fields.UUIDField(null=True)
    expires_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "oauth_revocation"
        indexes = (("tenant_id", "jti"), ("tenant_id", "family_id"))
