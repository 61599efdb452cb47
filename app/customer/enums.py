"""The customer module's enumerations: the one list of each set of values. The service
validates against them, the database stores their values, and schema/customer exposes them to
GraphQL as they are (member names are the GraphQL names, values are what is stored)."""
from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    WECHAT = "wechat"
    QQ = "qq"
    OTHER_IM = "other_im"


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"


class Tier(StrEnum):
    """ABC value tier (brand-configurable formula)."""

    A = "A"
    B = "B"
    C = "C"


class ChurnStatus(StrEnum):
    ACTIVE = "active"
    AT_RISK = "at_risk"
    LOST = "lost"


class LostType(StrEnum):
    """The six kinds of lost customers (seed 003)."""

    PUSHED_AWAY_DELIBERATELY = "pushed_away_deliberately"
    PUSHED_AWAY_UNINTENTIONALLY = "pushed_away_unintentionally"
    PULLED_BY_COMPETITOR = "pulled_by_competitor"
    BOUGHT_OFF = "bought_off"
    LEFT_WITHOUT_REASON = "left_without_reason"
    MOVED_AWAY = "moved_away"


class InteractionKind(StrEnum):
    CALL = "call"
    VISIT = "visit"
    MESSAGE = "message"
    EMAIL = "email"


class InteractionOutcome(StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    CALLBACK_REQUESTED = "callback_requested"
    RESOLVED = "resolved"
    REFUSED = "refused"
    OTHER = "other"


class PromiseStatus(StrEnum):
    OPEN = "open"
    KEPT = "kept"
    BROKEN = "broken"


class WinbackActionKind(StrEnum):
    CONTACT = "contact"
    OFFER = "offer"
    APOLOGY = "apology"
    VISIT = "visit"
    OTHER = "other"


class WinbackOutcome(StrEnum):
    PENDING = "pending"
    WON_BACK = "won_back"
    DECLINED = "declined"


class CustomerEventKind(StrEnum):
    """The timeline kinds the customer module writes itself. Other modules register theirs with
    app.customer.links.timeline_kind (the GraphQL TimelineKind enum is built from the registry)."""

    CREATED = "created"
    INTERACTION = "interaction"
    PROMISE = "promise"
    PROMISE_RESOLVED = "promise_resolved"
    PURCHASE = "purchase"
    SURVEY = "survey"
    TIER_CHANGED = "tier_changed"
    CHURN_CHANGED = "churn_changed"
    WINBACK = "winback"
    MERGED = "merged"
    ERASED = "erased"
