"""The web UI: plain HTML, JavaScript modules and CSS served next to the API.

No build step: the files under ``static/`` are what the browser gets. Each page is a small HTML
shell at a clean path (``/``, ``/agent``, ``/wallboard``, ``/admin``, ``/portal``) that loads one
module from ``/static/js/``; the modules talk to the JSON API of the same origin only. Texts come
from ``static/i18n/{nl,en}.json`` through ``static/js/i18n.js``.

The pages get a strict Content-Security-Policy: scripts, styles, images and connections from this
origin only (no inline script, no CDN), and the page may not be framed. The one exception is the
agent desktop's softphone: when telephony has a WebSocket listener, ``/agent`` may also connect
to that URL (SIP over WebSocket, docs/telephony.md).

``static/vendor/`` holds third-party browser code built from npm by ``./dev setup`` (``web/``),
not committed.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.staticfiles import PathLike
from starlette.types import Scope

STATIC = Path(__file__).with_name("static")

#: Clean path → the HTML shell that serves it.
PAGES: dict[str, str] = {
    "/": "index.html",
    "/agent": "agent.html",
    "/wallboard": "wallboard.html",
    "/admin": "admin.html",
    "/portal": "portal.html",
}

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; media-src 'self' blob:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

_PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    # The shells are tiny; always revalidate so a new release's modules are picked up at once.
    "Cache-Control": "no-cache",
}


class _Static(StaticFiles):
    """Static files that revalidate (ETag) instead of being cached blindly across releases."""

    def file_response(
        self, full_path: PathLike, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.setdefault("Cache-Control", "no-cache")
        return response


def _page(file: str, connect: str | None = None) -> Callable[[], Awaitable[FileResponse]]:
    path = STATIC / file
    headers = dict(_PAGE_HEADERS)
    if connect is not None:
        csp = CSP.replace("connect-src 'self'", f"connect-src 'self' {connect}")
        headers["Content-Security-Policy"] = csp

    async def page() -> FileResponse:
        return FileResponse(path, media_type="text/html; charset=utf-8", headers=headers)

    return page


def mount(app: FastAPI) -> None:
    """Serve the pages at their clean paths and the assets under ``/static``."""
    services = getattr(app.state, "services", None)
    telephony = getattr(getattr(services, "settings", None), "telephony", None)
    softphone = telephony.websocket_url if telephony is not None else None  # SIP over WebSocket
    for route, file in PAGES.items():
        page = _page(file, softphone if file == "agent.html" else None)
        app.add_api_route(route, page, methods=["GET"], include_in_schema=False, name=f"page:{file}")
    app.mount("/static", _Static(directory=STATIC), name="static")
