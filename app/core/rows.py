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

from collections import namedtuple
from typing import Any

_readers: dict[type, "Reader"] = {}


class Reader:
    """How one model's rows are read: the column list to select and the row built from a
    record of exactly those columns."""

    __slots__ = ("model", "row_type", "names", "_typed", "_complex")

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

    def columns(self, alias: str | None = None) -> str:
        """The select list, in the row's order (`alias.` before each column)."""
        projection = self.model._meta.fields_db_projection
        prefix = f"{alias}." if alias else ""
        return ", ".join(f'{prefix}"{projection[name]}"' for name in self.names)

    def row(self, record) -> Any:
        """The row of a record selected with `columns()`."""
        if not (self._typed or self._complex):
            return tuple.__new__(self.row_type, record)
        values = list(record)
        for i, field_type in self._typed:
            v = values[i]
            if v is not None and v.__class__ is not field_type:
                values[i] = field_type(v)
        for i, field in self._complex:
            v = values[i]
            if v is not None:
                values[i] = field.to_python_value(v)
        return tuple.__new__(self.row_type, values)


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
