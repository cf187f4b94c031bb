"""The dashboard's files (``/__buildmock/dashboard/``) and the root page that links to it.

Plain HTML, CSS and JavaScript shipped in the package: nothing from a CDN, no build step. The page
reads and steers the mock only through the control API, so it is bound by the same access rule.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.types import Scope, Send

if TYPE_CHECKING:
    from buildmock.server.mock import BuildMock

STATIC = Path(__file__).with_name("dashboard")
PREFIX = "/__buildmock/dashboard"

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
}

#: The page runs only its own script and style, talks only to this origin and cannot be framed.
_HEADERS = [
    (b"cache-control", b"no-cache"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "
        b"form-action 'none'",
    ),
]


def _root_page(apis: list[str]) -> bytes:
    links = "\n".join(
        f'<li><a href="/{html.escape(name)}/ui/">{html.escape(name)}</a> — '
        f'<a href="/{html.escape(name)}/openapi.json">spec</a></li>'
        for name in apis
    )
    return (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        "<title>buildmock</title><h1>buildmock</h1>"
        f'<p><a href="{PREFIX}/">Open the dashboard</a></p>'
        f"<h2>Vendor APIs</h2><ul>{links}</ul>"
        '<p>Control API: <a href="/__buildmock/health">/__buildmock/</a></p></html>'
    ).encode()


class Dashboard:
    """The root page and the dashboard's files, answered by the dispatch in front of the request
    path (``layers.py``) for the paths :meth:`handles`."""

    def __init__(self, mock: BuildMock) -> None:
        apis = list(mock.runtimes)
        self._files = {
            f"{PREFIX}/{path.name}": (path.read_bytes(), _TYPES[path.suffix])
            for path in STATIC.iterdir()
            if path.suffix in _TYPES
        }
        self._files[f"{PREFIX}/"] = self._files[f"{PREFIX}/index.html"]
        self._files["/"] = (_root_page(apis), _TYPES[".html"])

    def handles(self, path: str) -> bool:
        """Whether ``path`` is the root page or under the dashboard's prefix."""
        return path == "/" or path == PREFIX or path.startswith(PREFIX + "/")

    async def serve(self, scope: Scope, send: Send) -> None:
        """Answer a request for one of the paths :meth:`handles`."""
        path: str = scope["path"]
        if path == PREFIX:
            await _send(send, 308, b"", [(b"location", f"{PREFIX}/".encode())])
            return
        found = self._files.get(path)
        if found is None:
            await _send(
                send, 404, b'{"error":"not found"}', [(b"content-type", b"application/json")]
            )
            return
        if scope["method"] not in ("GET", "HEAD"):
            await _send(
                send,
                405,
                b'{"error":"method not allowed"}',
                [(b"content-type", b"application/json"), (b"allow", b"GET, HEAD")],
            )
            return
        body, media_type = found
        headers = [(b"content-type", media_type.encode()), *_HEADERS]
        await _send(send, 200, b"" if scope["method"] == "HEAD" else body, headers, len(body))


async def _send(
    send: Send,
    status: int,
    body: bytes,
    headers: list[tuple[bytes, bytes]],
    length: int | None = None,
) -> None:
    size = len(body) if length is None else length
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(size).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
