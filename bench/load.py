"""A small, cheap HTTP/1.1 keep-alive load generator (one process, N connections).

Prints one JSON line: requests, errors, rps, p50/p90/p99 latency in ms (and, with `--raw`, every
latency in ms, so that a caller running several of these can merge them)."""
from __future__ import annotations

import argparse
import asyncio
import json
import time
from urllib.parse import urlparse


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One HTTP/1.1 response with a Content-Length: (status, body)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:].strip())
    return int(head[9:12]), await reader.readexactly(length)


# A keep-alive connection connects again after this long, as clients behind a load balancer do:
# with several worker processes each connection is accepted by one of them, and connections held
# for a whole round leave the workers' shares of the load to the luck of the first accepts (one
# 2-process round measured 545 req/s, the next 833, the same code). By time, not by a count of
# requests: a connection on the busier worker gets as many chances to move as one on the other,
# and a new connection goes to whichever worker accepts first, the less busy one.
RECONNECT_SECONDS = 0.25


class Client:
    """One keep-alive connection at a time to host:port, connecting again every
    RECONNECT_SECONDS (`fresh()` before each request)."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None
        self.connected = float("-inf")

    async def fresh(self) -> None:
        if time.perf_counter() - self.connected > RECONNECT_SECONDS:
            self.close()
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            self.connected = time.perf_counter()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def worker(host, port, payload: bytes, deadline: float, lat: list, errors: list):
    client = Client(host, port)
    try:
        while time.perf_counter() < deadline:
            await client.fresh()
            t0 = time.perf_counter()
            client.writer.write(payload)
            status, body = await read_response(client.reader)
            lat.append(time.perf_counter() - t0)
            if status != 200 or b'"errors"' in body:
                errors.append(status)
    finally:
        client.close()


async def run(url: str, token: str, body: bytes, concurrency: int, duration: float, raw: bool = False) -> dict:
    u = urlparse(url)
    payload = (
        f"POST {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    lat: list[float] = []
    errors: list[int] = []
    start = time.perf_counter()
    deadline = start + duration
    await asyncio.gather(*(worker(u.hostname, u.port, payload, deadline, lat, errors) for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    lat.sort()

    def pct(p):
        return round(lat[min(len(lat) - 1, int(len(lat) * p))] * 1000, 2) if lat else None

    out = {"requests": len(lat), "errors": len(errors), "rps": round(len(lat) / elapsed, 1),
           "p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99)}
    if raw:
        out["latencies_ms"] = [round(x * 1000, 3) for x in lat]
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--body", required=True)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--raw", action="store_true", help="also print every latency")
    a = p.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(run(a.url, a.token, a.body.encode(), a.concurrency, a.duration, a.raw))))


if __name__ == "__main__":
    main()
