"""The composition root: settings in, a wired live server out.

This is the one place that knows every part: it migrates and opens the database, recovers the
engine from the stored log, and connects the writer to its listeners (read models, live hub,
webhooks). Everything else receives what it needs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from centrale.core.config import EngineConfig
from centrale.server.audit import AuditLog
from centrale.server.callbacks import CallbackScheduler
from centrale.server.live import Hub
from centrale.server.privacy import RetentionWorker
from centrale.server.projection import ConfigProjector, Projector
from centrale.server.ratelimit import LoginRateLimiter
from centrale.server.services import Services
from centrale.server.settings import ServerSettings
from centrale.server.users import UserStore
from centrale.server.writer import Writer
from centrale.storage import EventStore, migrate

log = logging.getLogger("centrale.server")


def base_config(settings: ServerSettings) -> EngineConfig:
    """The engine's starting point: global settings only; accounts, queues, agents and
    dispositions arrive as events in the log (configuration is event-sourced)."""
    return EngineConfig(
        accounts=(), queues=(), timezone=settings.timezone, interval_seconds=settings.interval_seconds
    )


def build(settings: ServerSettings, *, clock: Callable[[], float] = time.time) -> Services:
    """Open (and migrate) the database, recover the engine, and wire the server's parts.

    Raises :class:`~centrale.storage.StorageError` with a one-line message when the database
    cannot be used.
    """
    migrate(settings.database)
    store = EventStore(settings.database)
    started = time.monotonic()
    engine = store.recover(base_config(settings))
    if engine.log is not None and engine.log.last_seq:
        log.info("recovered %d events in %.1f s", engine.log.last_seq, time.monotonic() - started)
    hub = Hub(engine, clock=clock, min_interval=settings.wallboard_interval)
    writer = Writer(engine, store, clock=clock, listeners=[Projector(engine), ConfigProjector(engine), hub])
    users = UserStore(store.sql, clock=clock, session_ttl=settings.session_hours * 3600)
    services = Services(
        settings=settings,
        store=store,
        writer=writer,
        hub=hub,
        users=users,
        audit=AuditLog(store.sql, clock=clock),
        limiter=LoginRateLimiter(),
    )
    services.workers.append(RetentionWorker(store.sql, clock=clock))
    callbacks = CallbackScheduler(engine, writer, store.sql, timezone=settings.timezone, clock=clock)
    writer.listeners.append(callbacks)
    services.workers.append(callbacks)
    services.extras["callbacks"] = callbacks
    # --- outbound campaigns (centrale.server.dialer) -------------------------------------------------
    # The runner follows the writer's batches (dispositions settle leads in the batch's transaction)
    # and is a worker (the dialling loop). No trunk by default: set `services.extras["dialer"].trunk`
    # (a SimulatedTrunk in the demo, the SIP trunk later) before campaigns can start.
    from centrale.server.dialer import CampaignRunner

    dialer = CampaignRunner(store, writer, clock=clock, poke=hub.poke)
    writer.listeners.append(dialer)
    services.workers.append(dialer)
    services.extras["dialer"] = dialer
    hub.extra = dialer.wallboard
    # --- end of outbound campaigns -------------------------------------------------------------------
    # --- telephony (centrale.telephony; docs/telephony.md): off unless configured ----------------------
    if settings.telephony is not None:
        from centrale.telephony.sip import SipService

        sip = SipService(settings.telephony, writer)
        writer.listeners.append(sip)
        services.workers.append(sip)
        services.extras["sip"] = sip
        # --- outbound SIP trunk (centrale.telephony.trunk): the dialer's calls, when configured ---------
        if settings.telephony.trunk is not None:
            from centrale.telephony.trunk import SipTrunk

            services.extras["dialer"].trunk = SipTrunk(sip, settings.telephony.trunk)
        # --- end of outbound SIP trunk ----------------------------------------------------------------
    # --- end of telephony -----------------------------------------------------------------------------
    if settings.webhooks:
        from centrale.server.webhooks import WebhookListener, WebhookSender, WebhookStore

        hooks = WebhookStore(store.sql, clock=clock)
        sender = WebhookSender(store.sql, clock=clock)
        writer.listeners.append(WebhookListener(engine, hooks, sender=sender, clock=clock))
        services.webhooks = hooks
        services.workers.append(sender)
    return services
