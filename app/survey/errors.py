"""Business errors of surveys (GraphQL: SurveyErrorCode)."""
from __future__ import annotations

from app.core.errors import Conflict, NotFound, ValidationFailed


class UnknownTemplate(NotFound):
    code = "UNKNOWN_TEMPLATE"
    message = "No survey template with this code."


class TemplateTaken(Conflict):
    code = "TEMPLATE_TAKEN"
    message = "A survey template with this code exists."


class InvalidQuestion(ValidationFailed):
    code = "INVALID_QUESTION"
    message = "The question is invalid (see field)."


class InvalidAnswer(ValidationFailed):
    code = "INVALID_ANSWER"
    message = "The answer does not fit its question."


class UnknownQuestion(ValidationFailed):
    code = "UNKNOWN_QUESTION"
    message = "The template has no such question."


class InvalidCondition(ValidationFailed):
    code = "INVALID_CONDITION"
    message = "The condition is invalid (see field)."


class CustomerNotFound(NotFound):
    code = "CUSTOMER_NOT_FOUND"
    message = "No customer matches the result (external id, phone or e-mail)."


class TooMany(ValidationFailed):
    code = "TOO_MANY"
    message = "Too many items in one request."
