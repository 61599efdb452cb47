"""Keyset (seek) pagination: cursors carry the sort key and the id, never an offset.

`keyset_clause` turns Relay arguments into a row-value comparison that an index on
`(tenant_id, <sort columns>, id)` serves directly, at any depth of the list."""
from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Sequence

import orjson

from app.core.errors import InvalidCursor, InvalidPagination


@dataclass(frozen=True)
class PageArgs:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None


@dataclass
class Page:
    items: list[Any]
    has_next: bool
    has_previous: bool
    cursors: list[str]


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def encode_cursor(values: Sequence[Any]) -> str:
    raw = orjson.dumps([str(v) if isinstance(v, uuid.UUID) else v for v in values])
    return binascii.b2a_base64(raw, newline=False).translate(_URLSAFE).decode().rstrip("=")  # base64url, unpadded


def decode_cursor(cursor: str, width: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = orjson.loads(raw)
        if not isinstance(values, list) or len(values) != width or not isinstance(values[-1], str):
            raise ValueError
        values[-1] = uuid.UUID(values[-1])
        if not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in values[:-1]):
            raise ValueError
        if any(isinstance(v, str) and "\x00" in v for v in values[:-1]):
            raise ValueError
        return values
    except (ValueError, binascii.Error, orjson.JSONDecodeError, TypeError, AttributeError):
        raise InvalidCursor("The cursor is malformed.", field="after") from None


def parse_datetime(v):
    """A cursor's timestamp: ISO 8601 with a time zone."""
    d = datetime.fromisoformat(v)
    if d.tzinfo is None:
        raise ValueError
    try:
        d.astimezone(timezone.utc)  # 9999-12-31T23:59:59-23:59 has no UTC value Python or asyncpg can hold
    except OverflowError:
        raise ValueError from None
    return d


def _text(v):
    if not isinstance(v, str):
        raise TypeError
    return v


def validate(args: PageArgs, *, default: int, maximum: int) -> tuple[int, bool]:
    """Returns (limit, backwards)."""
    if args.first is not None and args.last is not None:
        raise InvalidPagination("Pass either first or last, not both.", field="first")
    n = args.last if args.last is not None else args.first
    if n is None:
        n = default
    if n < 0 or n > maximum:
        raise InvalidPagination(f"Page size must be between 0 and {maximum}.", field="first")
    return n, args.last is not None


def keyset_clause(
    columns: Sequence[str], args: PageArgs, next_param: int, *, descending: bool = False,
    parsers: Sequence[Any] | None = None,
) -> tuple[str, list[Any], str, bool]:
    """SQL fragment (`AND (...) > (...)` or empty), its params, ORDER BY, and whether the
    query runs backwards (results must then be reversed). `parsers` turn cursor values back
    into their column types (e.g. datetime.fromisoformat) where the column is not text."""
    cols = ", ".join(columns)
    params: list[Any] = []
    where = ""
    backwards = args.last is not None
    forward_op, backward_op = (">", "<") if not descending else ("<", ">")
    for cursor, op in ((args.after, forward_op), (args.before, backward_op)):
        if cursor:
            values = decode_cursor(cursor, len(columns))
            # text columns unless a parser says otherwise: a number where text belongs is refused
            parse = list(parsers) if parsers else [None] * len(columns)
            try:
                values = [p(v) if p else _text(v) for p, v in zip(parse[:-1], values[:-1])] + [values[-1]]
            except (TypeError, ValueError):
                raise InvalidCursor("The cursor is malformed.", field="after") from None
            placeholders = ", ".join(f"${next_param + len(params) + i}" for i in range(len(values)))
            where += f" AND ({cols}) {op} ({placeholders})"
            params.extend(values)
    ascending = (not descending) != backwards
    direction = "ASC" if ascending else "DESC"
    order = ", ".join(f"{c} {direction}" for c in columns)
    return where, params, order, backwards


def build_page(rows: list[Any], limit: int, backwards: bool, args: PageArgs, key) -> Page:
    has_more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    cursors = [encode_cursor(key(r)) for r in rows]
    if backwards:
        return Page(rows, has_next=args.before is not None, has_previous=has_more, cursors=cursors)
    return Page(rows, has_next=has_more, has_previous=args.after is not None, cursors=cursors)
