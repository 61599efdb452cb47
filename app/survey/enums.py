"""The survey module's enumerations (stored as their values, exposed by schema/survey)."""
from __future__ import annotations

from enum import StrEnum


class Dimension(StrEnum):
    """The five service-quality dimensions (SERVQUAL, seed 001): what a question measures, and
    what a ticket is about."""

    TANGIBLES = "tangibles"
    EMPATHY = "empathy"
    ASSURANCE = "assurance"
    RESPONSIVENESS = "responsiveness"
    RELIABILITY = "reliability"


class QuestionKind(StrEnum):
    SCORE_10 = "score_10"  # 0-10 (NPS-style)
    SCORE_5 = "score_5"  # 1-5 (Likert)
    YES_NO = "yes_no"
    CHOICE = "choice"
    TEXT = "text"


class QuestionRole(StrEnum):
    """What a question means to selection, beyond its own answer."""

    NONE = "none"
    OVERALL = "overall"  # its score is the result's overall score
    RESOLVED = "resolved"  # a yes/no "was your problem resolved?": "no" opens a ticket whatever the score


class RuleMatch(StrEnum):
    ALL = "all"
    ANY = "any"


class ConditionField(StrEnum):
    QUESTION = "question"  # a question's answer (score, yes/no as 1/0, choice)
    DIMENSION = "dimension"  # a dimension's score, 0-10 (the mean of its questions)
    OVERALL = "overall"  # the overall score, 0-10
    CUSTOMER_TIER = "customer_tier"  # A | B | C
    DEALER_REGION = "dealer_region"
    PRODUCT_LINE = "product_line"


class Comparison(StrEnum):
    LT = "lt"
    LTE = "lte"
    EQ = "eq"
    NE = "ne"
    GTE = "gte"
    GT = "gt"
    IN = "in"  # one of `values`
    NOT_IN = "not_in"


class Unmatched(StrEnum):
    """What to do with a result whose customer is not in the archive."""

    CREATE = "create"  # create the customer from the result's customer fields
    REPORT = "report"  # store nothing; report it (code CUSTOMER_NOT_FOUND)


class Outcome(StrEnum):
    """What one submitted result did."""

    STORED = "stored"  # stored; no rule selected it
    SELECTED = "selected"  # stored and selected: a care ticket holds it (new, or the customer's open one)
    DUPLICATE = "duplicate"  # this response id was stored before: nothing changed
    UNMATCHED = "unmatched"  # no such customer, and the brand chose REPORT
    INVALID = "invalid"  # refused (see its errors)
