"""Global ids and cursors: base64url without padding, exactly what the standard library's
`urlsafe_b64encode` gives (the encoders take a shorter way), and they decode back."""
from __future__ import annotations

import base64
import uuid

import orjson
from hypothesis import given
from hypothesis import strategies as st

from app.core.ids import from_global_id, to_global_id
from app.core.pagination import decode_cursor, encode_cursor

names = st.text(alphabet=st.characters(blacklist_characters=":", blacklist_categories=("Cs",)), min_size=1, max_size=30)
keys = st.one_of(st.text(max_size=40).filter(lambda s: "\x00" not in s), st.integers(-10**12, 10**12))


@given(names, st.uuids())
def test_global_ids_are_unpadded_base64url_and_decode_back(name, pk):
    gid = to_global_id(name, pk)
    assert gid == base64.urlsafe_b64encode(f"{name}:{pk}".encode()).decode().rstrip("=")
    if len(gid) <= 200:  # from_global_id refuses longer ones (no type name of ours comes close)
        assert from_global_id(gid) == (name, pk)


@given(st.lists(keys, max_size=3), st.uuids())
def test_cursors_are_unpadded_base64url_and_decode_back(values, pk):
    cursor = encode_cursor([*values, pk])
    assert cursor == base64.urlsafe_b64encode(orjson.dumps([*values, str(pk)])).decode().rstrip("=")
    assert decode_cursor(cursor, len(values) + 1) == [*values, uuid.UUID(str(pk))]
