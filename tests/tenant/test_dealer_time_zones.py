"""Dealer time zones: canonical IANA names only (Area/Location, or UTC)."""
import pytest

CREATE = """mutation($i: DealerCreateInput!) { dealerCreate(input: $i) { dealer { timeZone } errors { field code } } }"""
UPDATE = """mutation($i: DealerUpdateInput!) { dealerUpdate(input: $i) { dealer { timeZone } errors { field code } } }"""


@pytest.mark.parametrize("zone", ["localtime", "Factory", "posix/Asia/Shanghai", "right/UTC", "PRC", "EST5EDT", "US/Eastern",
                                  "Etc/GMT+5", "GMT", "Zulu", "asia/shanghai", "Asia/Nowhere", "", "../etc/passwd"])
async def test_non_canonical_zones_are_refused(gql, brand_a, zone):
    r = await gql(brand_a.token(), CREATE, {"i": {"code": "TZ-1", "name": "tz", "region": "north", "timeZone": zone}})
    assert r["data"]["dealerCreate"] == {"dealer": None, "errors": [{"field": "timeZone", "code": "INVALID_TIME_ZONE"}]}
    r = await gql(brand_a.token(), UPDATE, {"i": {"id": brand_a.gid("Dealer", "d1"), "timeZone": zone}})
    assert r["data"]["dealerUpdate"]["errors"] == [{"field": "timeZone", "code": "INVALID_TIME_ZONE"}]


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "UTC", "America/Argentina/Buenos_Aires", "Europe/Berlin", "Pacific/Auckland"])
async def test_canonical_zones_are_accepted(gql, brand_a, zone):
    r = await gql(brand_a.token(), CREATE, {"i": {"code": "TZ-2", "name": "tz", "region": "north", "timeZone": zone}})
    assert r["data"]["dealerCreate"] == {"dealer": {"timeZone": zone}, "errors": []}
