"""The FastAPI application: routes, error mapping, security headers and the web UI.

`create_app(services)` only wires HTTP to the parts the composition root built
(:mod:`centrale.server.root`); the app has no state of its own. The writer, the live hub and the
webhook sender are started and stopped with the app's lifespan.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from centrale import __version__
from centrale.server.errors import HANDLERS, ApiError
from centrale.server.metrics import registry_for
from centrale.server.routes import (
    admin,
    auth,
    callbacks,
    campaigns,
    config,
    desktop,
    interactions,
    live,
    monitor,
    phone,
    recordings,
    reports,
    webhooks,
)
from centrale.server.services import Services
from centrale.storage import StorageError

DESCRIPTION = """\
The live contact center: configuration, agents, interactions, reports and live figures.

Authenticate with a session (POST /api/login; send the CSRF token from /api/me in `X-CSRF-Token`
with every change) or with an API token (`Authorization: Bearer ctr_…`, made with POST /api/tokens).
Errors are `{"error": {"code": "...", "message": "..."}}` with stable codes.
"""


_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]
_NO_STORE = (b"cache-control", b"no-store")


class SecurityHeaders:
    """Adds security headers to every response, and ``Cache-Control: no-store`` to the API's.

    A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` costs about half a millisecond per
    request, a fifth of a typical request's time."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = scope["path"].startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [h for h in _HEADERS if h[0] not in present]
                if api and b"cache-control" not in present:
                    headers.append(_NO_STORE)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(services: Services) -> FastAPI:
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
    for module in (
        auth,
        desktop,
        phone,
        live,
        interactions,
        recordings,
        monitor,
        callbacks,
        reports,
        config,
        admin,
        campaigns,
        webhooks,
    ):
        app.include_router(module.router)

    app.add_middleware(SecurityHeaders)

    @app.get("/api/health", tags=["live"])
    async def health() -> dict[str, Any]:
        """Liveness: the writer runs and how far the stored log goes."""
        return {"ok": services.writer.running, "seq": services.writer.stored_seq}

    @app.get("/api/ready", tags=["live"], responses={503: {"description": "not ready: see checks"}})
    async def ready() -> JSONResponse:
        """Readiness (for a load balancer or an orchestrator): the writer runs, the database
        answers and, with telephony, the SIP service runs and rtpengine answers. 503 otherwise,
        with each check's problem."""
        checks = {"writer": "ok" if services.writer.running else "not running (see the server's log)"}
        try:
            await asyncio.get_running_loop().run_in_executor(None, services.store.ping)
            checks["database"] = "ok"
        except StorageError as exc:
            checks["database"] = str(exc)
        sip = services.extras.get("sip")
        if sip is not None:
            checks |= await sip.readiness()
        ok = all(value == "ok" for value in checks.values())
        return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)

    registry = registry_for(services)

    @app.get("/metrics", tags=["live"], response_class=PlainTextResponse)
    async def metrics(authorization: str | None = Header(None)) -> PlainTextResponse:
        """Prometheus metrics (centrale.server.metrics) for the bearer token ``metrics_token``."""
        token = services.settings.metrics_token
        if token is None:
            raise ApiError(404, "metrics.off", "metrics are off: set metrics_token in the server settings")
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            raise ApiError(401, "metrics.token", "send the metrics token as a bearer token")
        return PlainTextResponse(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    from centrale.server import web

    web.mount(app)
    return app
