from app.settings import ROOT
from schema import schema


def test_committed_sdl_is_current():
    committed = (ROOT / "schema" / "schema.graphql").read_text()
    assert committed == schema.as_str() + "\n", "schema/schema.graphql is stale: run `make schema` and commit it"


def test_every_object_type_with_an_id_is_a_node():
    for name, t in schema._schema.type_map.items():
        fields = getattr(t, "fields", None)
        if name.startswith("__") or not fields or "id" not in fields or name in ("Node",):
            continue
        if hasattr(t, "interfaces"):
            assert any(i.name == "Node" for i in t.interfaces), name
