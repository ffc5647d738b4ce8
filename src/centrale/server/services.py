"""The live server's parts, wired once by the composition root and shared by every route."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from centrale.core.engine import Engine
    from centrale.server.audit import AuditLog
    from centrale.server.live import Hub
    from centrale.server.ratelimit import LoginRateLimiter
    from centrale.server.settings import ServerSettings
    from centrale.server.users import UserStore
    from centrale.server.webhooks import WebhookStore
    from centrale.server.writer import Writer
    from centrale.storage import EventStore


@dataclass
class Services:
    settings: ServerSettings
    store: EventStore
    writer: Writer
    hub: Hub
    users: UserStore
    audit: AuditLog
    limiter: LoginRateLimiter
    webhooks: WebhookStore | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    workers: list[Any] = field(default_factory=list)
    """Further parts with async ``start()``/``stop()`` (webhook sender, demo world), in start order."""

    async def start(self) -> None:
        self.writer.start()
        self.hub.start()
        for worker in self.workers:
            result = worker.start()
            if result is not None:
                await result

    async def stop(self) -> None:
        for worker in reversed(self.workers):
            result = worker.stop()
            if result is not None:
                await result
        await self.hub.stop()
        await self.writer.stop()
        self.store.close()

    @property
    def engine(self) -> Engine:
        return self.writer.engine
