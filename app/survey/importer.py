"""Bulk survey results: the "survey_results" kind of the shared import pipeline
(`POST /imports/survey-results`, app/core/imports.py). Each batch goes through the same intake
as `surveyResultsSubmit` (app/survey/service.py submit_results), so a file and an API call
store, match, select and open tickets identically, and a file sent twice changes nothing.

Columns (CSV header or JSON Lines keys): template_code, source, response_id (required);
answered_at (ISO 8601 with an offset), external_source, external_id, phone, email, name,
dealer_code, episode, product_line; and the answers, as one column per question named
`q.<key>` (CSV and JSON Lines) or, in JSON Lines, an `answers` object.
Upload option `unmatched=report|create` (default report): what to do with a result whose
customer is not in the archive (creating needs customers:write)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.core import imports
from app.core.imports import RowError
from app.core.permissions import Perm
from app.core.tenancy import Scope
from app.survey import service
from app.survey.enums import Outcome, Unmatched

REQUIRED = ("template_code", "source", "response_id")
TEXT_FIELDS = (*REQUIRED, "external_source", "external_id", "phone", "email", "name", "dealer_code", "episode", "product_line")


@dataclass
class Context:
    unmatched: Unmatched
    import_id: object


def validate(line: int, raw: dict, _ctx) -> service.ResultInput:
    """The shape of a row; its meaning (the template, answers, customer) is checked by the intake."""
    answers, text = {}, dict.fromkeys(TEXT_FIELDS)
    for k, v in raw.items():
        if k.startswith("q.") and len(k) > 2:
            answers[k[2:]] = v
        elif k in text:
            if v is None:
                continue
            if v.__class__ is not str and (not isinstance(v, (str, int)) or isinstance(v, bool)):
                raise RowError(k, "WRONG_TYPE", f"'{k}' must be text.")
            v = str(v).strip()
            text[k] = v or None
        elif k not in ("answers", "answered_at"):
            raise RowError(k[:40], "UNKNOWN_FIELD", f"Unknown field {k[:40]!r}: answers go in columns named q.<question key>.")
    if raw.get("answers") is not None:
        if not isinstance(raw["answers"], dict):
            raise RowError("answers", "WRONG_TYPE", "'answers' must be an object of question key to answer.")
        answers.update(raw["answers"])
    for k in REQUIRED:
        if not text[k]:
            raise RowError(k, "REQUIRED", f"'{k}' is required.")
    at = None
    if raw.get("answered_at"):
        try:
            at = datetime.fromisoformat(str(raw["answered_at"]).strip())
        except ValueError:
            raise RowError("answered_at", "WRONG_TYPE", "'answered_at' must be ISO 8601, like 2026-05-31T10:00:00+08:00.") from None
        if at.tzinfo is None:
            raise RowError("answered_at", "WRONG_TYPE", "'answered_at' needs a UTC offset (e.g. +08:00).")
    return service.ResultInput(template_code=text["template_code"], source=text["source"], response_id=text["response_id"],
                               answers=answers, answered_at=at, external_source=text["external_source"],
                               external_id=text["external_id"], phone=text["phone"], email=text["email"], name=text["name"],
                               dealer_code=text["dealer_code"], episode=text["episode"], product_line=text["product_line"], line=line)


async def _prepare(_scope: Scope, imp) -> Context:
    return Context(Unmatched((imp.options or {}).get("unmatched", Unmatched.REPORT.value)), imp.id)


async def _write(scope: Scope, rows: list[service.ResultInput], ctx: Context) -> dict:
    counts: dict = {"created": 0, "updated": 0, "unchanged": 0, "rejected": []}
    outcomes = []
    for start in range(0, len(rows), service.MAX_BATCH):
        chunk = rows[start:start + service.MAX_BATCH]
        outcomes += [(chunk[o.index].line, o) for o in await service.submit_results(
            scope, chunk, unmatched=ctx.unmatched, import_id=ctx.import_id)]
    for line, o in outcomes:
        if o.outcome in (Outcome.STORED, Outcome.SELECTED):
            counts["created"] += 1
        elif o.outcome is Outcome.DUPLICATE:
            counts["unchanged"] += 1
        else:
            for e in o.errors or [None]:
                counts["rejected"].append((line, RowError(getattr(e, "field", None), getattr(e, "code", "INVALID"),
                                                          getattr(e, "message", "The result was refused."))))
                break  # one error per line (the first)
    return counts


KIND = imports.register(imports.ImportKind(
    name="survey_results", job="survey.import", node_type="SurveyResultImport", perm=Perm.SURVEYS_WRITE, required=REQUIRED,
    prepare=_prepare, validate=validate, key=lambda r: (r.source, r.response_id), key_field="response_id", write=_write,
    options={"unmatched": (Unmatched.REPORT.value, Unmatched.CREATE.value)}, example="results.csv",
    batch_size=service.MAX_BATCH))
