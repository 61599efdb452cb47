"""The client's address, trusting forwarding headers only from configured proxies.

uvicorn's own proxy-header handling is switched off (see `app.cli` serve): `X-Forwarded-For`
from anyone would let a caller pick a new address per request, dodging per-IP rate limits and
forging the audit trail. `TRUSTED_PROXIES` lists the proxies (addresses or CIDR networks) whose
`X-Forwarded-For` is believed; the client is the right-most address not itself a trusted proxy."""
from __future__ import annotations

import ipaddress
from functools import lru_cache

from app.settings import get_settings


@lru_cache(maxsize=8)
def _networks(spec: str) -> tuple:
    nets = []
    for part in spec.replace(";", ",").split(","):
        part = part.strip()
        if part:
            nets.append(ipaddress.ip_network(part, strict=False))
    return tuple(nets)


def _trusted(addr: str, nets: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in n for n in nets)


def client_ip(request) -> str | None:
    """The caller's address (Starlette request or ASGI scope), or None when unknown."""
    scope = request.scope if hasattr(request, "scope") else request
    client = scope.get("client")
    peer = client[0] if client else None
    nets = _networks(get_settings().trusted_proxies)
    if peer is None or not nets or not _trusted(peer, nets):
        return peer
    forwarded = []
    for k, v in scope.get("headers", ()):
        if k == b"x-forwarded-for":
            forwarded += [p.strip() for p in v.decode("latin-1").split(",") if p.strip()]
    for hop in reversed(forwarded):
        if not _trusted(hop, nets):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # garbage in the header: keep the proxy's own address
    return forwarded[0] if forwarded else peer
