"""A GraphQL POST to the ASGI app, called directly in this process (no HTTP client, whose own
objects and work are not the service's): the benchmark's in-process measurement and the tests
that count what an operation leaves behind use it."""
from __future__ import annotations


async def post_graphql(app, token: str, body: bytes) -> bytes:
    """The response body of POST /graphql with `body` (JSON) and the bearer `token`."""
    scope = {"type": "http", "method": "POST", "path": "/graphql", "raw_path": b"/graphql", "query_string": b"",
             "headers": [(b"authorization", f"Bearer {token}".encode()), (b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode())],
             "http_version": "1.1", "scheme": "http", "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1),
             "root_path": "", "app": app}
    sent, chunks = False, []

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return b"".join(chunks)
