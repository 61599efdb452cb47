"""Read rows: what a page or a DataLoader reads, built from asyncpg records without an ORM object
per row (issue 12, "Speed").

A page of 50 tickets with their customers builds about a hundred Tortoise objects: Tortoise
first turns every record into a dict, then `_init_from_db(**dict)` sets each attribute in a
Python loop, about a fifth of the whole request. `reader(Model)` instead gives a named tuple
of the model's columns, in the model's order, made from the record in one C call; the values
are converted exactly as Tortoise converts them (its own split of the fields: as the driver
gives them, through the field's type, or through `to_python_value`), so anything that reads
attributes of the ORM object (`t.status`, `c.tags`, `t.pk`) reads the same values from the row.

A row is immutable (a tuple): nothing can change it and expect it saved. Code that writes takes
the ORM object (`..._for_update`, `Model.get`), as before.

Usage: `r = reader(Ticket)`; `f"SELECT {r.columns('t')} FROM ticket t ..."`;
`[r.row(rec) for rec in await db.fetch(sql, params)]`."""
from __future__ import annotations

import datetime as dt
from collections import namedtuple
from functools import partial
from typing import Any

_readers: dict[type, "Reader"] = {}


class Reader:
    """How one model's rows are read: the column list to select (`columns()`) and `row(record)`,
    the row of a record selected with exactly those columns."""

    __slots__ = ("model", "row_type", "names", "_typed", "_complex", "row")

    def __init__(self, model: type):
        meta = model._meta
        projection = meta.fields_db_projection  # field name -> column, in the model's order
        self.model = model
        self.names = tuple(projection)
        # as Tortoise's _init_from_db: native fields as the driver gives them, "default" fields
        # through their type (str(), int(), ...), the rest through to_python_value
        # (the field itself is kept, not its bound method: init_orm may replace a field class's
        # to_python_value, app.core.db)
        index = {name: i for i, name in enumerate(self.names)}
        self._typed = tuple((index[name], field.field_type) for _key, name, field in meta.db_default_fields)
        self._complex = tuple((index[name], field) for _key, name, field in meta.db_complex_fields)
        row_type = namedtuple(f"{model.__name__}Row", self.names)
        row_type.pk = property(lambda r, i=index[meta.pk_attr]: r[i], doc="The primary key (as the ORM object's `pk`).")
        # as the ORM object's: the key only, never the columns (a row in an error message or a
        # log line must not carry a customer's name or contact details)
        row_type.__repr__ = lambda r, name=f"{model.__name__}Row", i=index[meta.pk_attr]: f"<{name}: {r[i]}>"
        row_type.__module__ = model.__module__
        self.row_type = row_type
        self.row = _build_row(row_type, len(self.names), self._typed, self._complex)

    def columns(self, alias: str | None = None) -> str:
        """The select list, in the row's order (`alias.` before each column)."""
        projection = self.model._meta.fields_db_projection
        prefix = f"{alias}." if alias else ""
        return ", ".join(f'{prefix}"{projection[name]}"' for name in self.names)


def _build_row(row_type, width: int, typed, complex_) -> Any:
    """`Reader.row` as one function made for the model: the record unpacked into locals, each
    conversion written out for its column (no loop over the columns, no call for a value that is
    already what Tortoise would make of it). A UUID column keeps a UUID as Tortoise's
    `UUIDField.to_python_value` does, a timestamp in UTC is kept as app.core.db's
    `to_python_value` keeps it; every other conversion is the field's own call. Generated once per
    model from its fields (never from a value): the source only names columns by position."""
    from uuid import UUID

    from tortoise.fields.data import DatetimeField, UUIDField

    from app.core import db  # its _KEEP_UTC: whether the ORM keeps UTC timestamps as they come

    if not (typed or complex_):
        return partial(tuple.__new__, row_type)  # every value as the driver gives it
    names = [f"v{i}" for i in range(width)]
    env: dict[str, Any] = {"_new": tuple.__new__, "_row_type": row_type, "_UUID": UUID, "_datetime": dt.datetime,
                           "_utc": dt.timezone.utc, "_keep_utc": db._KEEP_UTC}
    lines = ["def row(record):", f"    {', '.join(names)}{',' if width == 1 else ''} = record"]
    for i, field_type in typed:
        env[f"_t{i}"] = field_type
        lines.append(f"    if v{i} is not None and v{i}.__class__ is not _t{i}: v{i} = _t{i}(v{i})")
    for i, field in complex_:
        convert = type(field).to_python_value
        env[f"_f{i}"] = field
        if isinstance(field, UUIDField) and convert is UUIDField.to_python_value:
            lines.append(f"    if v{i} is not None and not isinstance(v{i}, _UUID): v{i} = _f{i}.to_python_value(v{i})")
        elif isinstance(field, DatetimeField) and getattr(convert, "_hf_original", None) is not None:  # db's, installed
            lines.append(f"    if v{i} is not None and not (v{i}.__class__ is _datetime and v{i}.tzinfo is _utc and _keep_utc[0]):"
                         f" v{i} = _f{i}.to_python_value(v{i})")
        else:
            lines.append(f"    if v{i} is not None: v{i} = _f{i}.to_python_value(v{i})")
    lines.append(f"    return _new(_row_type, ({', '.join(names)}{',' if width == 1 else ''}))")
    exec(compile("\n".join(lines), f"<read row of {row_type.__name__}>", "exec"), env)  # noqa: S102 - column positions only
    return env["row"]


def reader(model: type) -> Reader:
    """The model's reader, made once (after Tortoise has initialised the model)."""
    r = _readers.get(model)
    if r is None:
        r = _readers[model] = Reader(model)
    return r


def member(enum_cls: type, value: Any) -> Any:
    """`enum_cls(value)` with one dict lookup: a row's text column as its enum member (Enum's own
    call goes through two Python frames, a few per row on a page). Anything the lookup does not
    find (a member of a non-str enum, a wrong value) goes to `enum_cls(value)`, which answers or
    raises as before."""
    try:
        return enum_cls._value2member_map_[value]
    except (KeyError, TypeError):
        return enum_cls(value)
