"""GraphiQL served from this service alone: our page, the vendored React/ReactDOM/GraphiQL
builds (static/, fetched by vendor.sh, versions in VERSIONS) and a strict Content-Security-Policy.
Nothing is loaded from another origin, so the IDE works on a machine without internet.

Both the page and the assets exist only when settings.graphiql_enabled; otherwise 404."""
from __future__ import annotations

import gzip
import hashlib
import html
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from app.settings import get_settings

STATIC = Path(__file__).resolve().parent / "static"
ASSET_PREFIX = "/graphiql/assets/"
HEADER_HINT = '{"Authorization": "Bearer <token>"}'
DEFAULT_QUERY = """# Huifang GraphQL. Put an access token in the Headers tab below:
#   {"Authorization": "Bearer <token>"}
# (`make run` prints one; `python -m app token --user <email> --brand <slug>` mints more),
# then re-fetch the schema (the circular arrow on the left) and run with Ctrl-Enter.

{
  viewer {
    actorKind
    roles
  }
}
"""

# what the page may load: only this origin. GraphiQL sets style attributes from JS
# (style-src 'unsafe-inline'); its fonts are data: URIs inside graphiql.min.css.
CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "font-src 'self' data:",
    "img-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'none'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
])
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

# the only files served (scripts in the page's load order); nothing else under static/ is reachable
_TYPES = {
    "graphiql.min.css": "text/css; charset=utf-8",
    "huifang-graphiql.css": "text/css; charset=utf-8",
    "react.production.min.js": "text/javascript; charset=utf-8",
    "react-dom.production.min.js": "text/javascript; charset=utf-8",
    "graphiql.min.js": "text/javascript; charset=utf-8",
    "huifang-graphiql.js": "text/javascript; charset=utf-8",
}
STYLES = ("graphiql.min.css", "huifang-graphiql.css")
SCRIPTS = ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js", "huifang-graphiql.js")


@dataclass
class _Asset:
    body: bytes
    media_type: str
    etag: str
    _gz: bytes | None = field(default=None, repr=False)

    @property
    def gz(self) -> bytes:
        if self._gz is None:  # once per process: graphiql.min.js is ~1 MB, ~300 kB gzipped
            self._gz = gzip.compress(self.body, compresslevel=6, mtime=0)
        return self._gz


@lru_cache(maxsize=None)
def _asset(name: str) -> _Asset | None:
    media_type = _TYPES.get(name)
    if media_type is None:
        return None
    try:
        body = (STATIC / name).read_bytes()
    except FileNotFoundError:
        return None
    return _Asset(body, media_type, hashlib.sha256(body).hexdigest()[:16])


def asset_url(name: str) -> str:
    """The file's URL with its content hash: a new version is a new URL, so it may be cached forever."""
    a = _asset(name)
    return f"{ASSET_PREFIX}{name}?v={a.etag if a else 'missing'}"


def _not_found() -> JSONResponse:
    return JSONResponse({"errors": [{"message": "Not found", "extensions": {"code": "NOT_FOUND"}}]}, status_code=404)


async def asset_endpoint(request: Request) -> Response:
    """GET /graphiql/assets/{name}: one of the files above, with long cache headers."""
    if not get_settings().graphiql_enabled:
        return _not_found()
    a = _asset(request.path_params.get("name", ""))
    if a is None:
        return _not_found()
    etag = f'"{a.etag}"'
    headers = {
        "Cache-Control": "public, max-age=31536000, immutable",
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
        "Vary": "Accept-Encoding",
        "Cross-Origin-Resource-Policy": "same-origin",
    }
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    body = a.body
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        body = a.gz
        headers["Content-Encoding"] = "gzip"
    if request.method == "HEAD":
        return Response(status_code=200, headers={**headers, "Content-Length": str(len(body))}, media_type=a.media_type)
    return Response(body, headers=headers, media_type=a.media_type)


def render_page(endpoint: str = "/graphql") -> HTMLResponse:
    attr = html.escape
    styles = "\n".join(f'    <link rel="stylesheet" href="{attr(asset_url(n))}">' for n in STYLES)
    scripts = "\n".join(f'    <script src="{attr(asset_url(n))}" defer></script>' for n in SCRIPTS)
    page = f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="robots" content="noindex">
    <title>Huifang GraphiQL</title>
    <link rel="icon" href="data:,">
{styles}
{scripts}
  </head>
  <body data-endpoint="{attr(endpoint)}" data-header-hint="{attr(HEADER_HINT)}" data-default-query="{attr(DEFAULT_QUERY)}">
    <div id="graphiql"><p class="huifang-loading">Loading GraphiQL&hellip;
      (it needs JavaScript; every file comes from this server)</p></div>
  </body>
</html>
"""
    return HTMLResponse(page, headers=PAGE_HEADERS)


__all__ = ["CSP", "asset_endpoint", "asset_url", "render_page"]
