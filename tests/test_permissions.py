"""Every root field and mutation declares its permission; every node type declares its own."""
from schema import schema
from schema.permissions import _Declared
from schema.relay import NODE_PERMS, NODE_RESOLVERS

# Root fields open to any authenticated caller of the brand, on purpose:
PUBLIC_FIELDS = {
    "Query.node": "checks the node type's own permission (NODE_PERMS)",
    "Query.nodes": "same as node",
    "Query.viewer": "who am I",
    "Query.brand": "the caller's own brand",
    "Query.dealers": "the dealer directory, limited by dealer/region visibility",
}


def root_fields():
    for root in (schema.query, schema.mutation):
        definition = root.__strawberry_definition__
        for f in definition.fields:
            yield f"{definition.name}.{schema.config.name_converter.get_graphql_name(f)}", f


def test_every_root_field_declares_a_permission():
    missing, undeclared_public = [], []
    for name, field in root_fields():
        declared = [p for p in field.permission_classes if issubclass(p, _Declared)]
        if not declared:
            missing.append(name)
        elif any(p.perm is None for p in declared) and name not in PUBLIC_FIELDS:
            undeclared_public.append(name)
    assert not missing, f"fields without a permission declaration: {missing}"
    assert not undeclared_public, f"public fields not listed in PUBLIC_FIELDS: {undeclared_public}"


def test_every_node_type_declares_a_permission():
    assert set(NODE_RESOLVERS) == set(NODE_PERMS)
    node_types = {n for n, t in schema._schema.type_map.items() if getattr(t, "interfaces", None) and any(i.name == "Node" for i in t.interfaces)}
    assert node_types == set(NODE_RESOLVERS)


def test_permission_is_in_the_field_description():
    sdl = schema.as_str()
    assert "Requires: scope `admin`" in sdl
