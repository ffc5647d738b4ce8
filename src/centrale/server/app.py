"""The FastAPI application: routes, error mapping, security headers and the web UI.

`create_app(services)` only wires HTTP to the parts the composition root built
(:mod:`centrale.server.root`); the app has no state of its own. The writer, the live hub and the
webhook sender are started and stopped with the app's lifespan.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response

from centrale import __version__
from centrale.server.errors import HANDLERS
from centrale.server.routes import (
    admin,
    auth,
    callbacks,
    campaigns,
    config,
    desktop,
    interactions,
    live,
    reports,
    webhooks,
)
from centrale.server.services import Services

DESCRIPTION = """\
The live contact center: configuration, agents, interactions, reports and live figures.

Authenticate with a session (POST /api/login; send the CSRF token from /api/me in `X-CSRF-Token`
with every change) or with an API token (`Authorization: Bearer ctr_…`, made with POST /api/tokens).
Errors are `{"error": {"code": "...", "message": "..."}}` with stable codes.
"""


def create_app(
    services: Services, *, lifespan_hooks: list[Callable[[], Awaitable[Any]]] | None = None
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await services.start()
        try:
            yield
        finally:
            await services.stop()

    app = FastAPI(
        title="centrale",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.services = services
    for exc_type, handler in HANDLERS.items():
        app.add_exception_handler(exc_type, handler)
    for module in (auth, desktop, live, interactions, callbacks, reports, config, admin, campaigns, webhooks):
        app.include_router(module.router)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.url.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.get("/api/health", tags=["live"])
    async def health() -> dict[str, Any]:
        """Liveness: the writer runs and how far the stored log goes."""
        return {"ok": services.writer.running, "seq": services.writer.stored_seq}

    from centrale.server import web

    web.mount(app)
    return app
