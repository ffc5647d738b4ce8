"""Prometheus metrics: what an operator's monitoring scrapes (``GET /metrics``).

Everything is read at scrape time from the parts that own it — the engine, the writer, the SIP
service, the trunk, the campaign runner — so no second copy of any count is kept and none can drift.
The scrape runs on the server's event loop, the loop the writer applies batches on, so it sees the
engine between two batches, never half-way through one. The SIP service's counters are plain
integers its own thread writes; a scrape reads each whole (at worst one event old).

Families (``centrale_`` prefix; labels in brackets):

* engine: ``agents`` [state], ``queue_waiting`` and ``queue_oldest_wait_seconds`` [queue],
  ``interactions_finished_total`` [outcome];
* writer: ``writer_running``, ``events_stored_total``;
* telephony (when on): ``sip_calls`` [state], ``sip_datagrams_dropped_total``,
  ``sip_requests_limited_total``, ``sip_sources_blocked_total``, ``sip_invites_refused_overload_total``,
  ``websocket_connections``, ``websocket_handshakes_refused_total`` [reason];
  ``trunk_dials_total`` [outcome];
* dialer: ``campaign_calls_total`` [campaign, outcome] (the runner's counters: dialled, answered,
  connected, abandoned, …), ``campaign_calls_ringing`` [campaign], ``campaign_running`` [campaign].

Access: ``metrics_token`` in the server settings, sent by Prometheus as a bearer token
(``authorization: {credentials: …}`` in its scrape config). Without a token configured the
endpoint answers 404 — monitoring data names queues, campaigns and client accounts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from centrale.core.agent import AgentState
from centrale.server.dialer import RUNNING
from centrale.server.services import Services


class CenterCollector(Collector):
    """Yields the families above from `services` at each collection."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[Metric]:
        yield from self._engine()
        yield from self._writer()
        sip = self.services.extras.get("sip")
        if sip is not None:
            yield from self._sip(sip)
        dialer = self.services.extras.get("dialer")
        if dialer is not None:
            yield from self._dialer(dialer)

    def _engine(self) -> Iterator[Metric]:
        engine = self.services.writer.engine
        now = self.services.writer.now()
        agents = GaugeMetricFamily("centrale_agents", "Agents per state", labels=["state"])
        states = Counter(agent.state for agent in engine.agents.values())
        for state in AgentState:
            agents.add_metric([state.value], states.get(state, 0))
        yield agents
        waiting = GaugeMetricFamily(
            "centrale_queue_waiting", "Interactions waiting in line", labels=["queue"]
        )
        oldest = GaugeMetricFamily(
            "centrale_queue_oldest_wait_seconds", "How long the first in line has waited", labels=["queue"]
        )
        for queue_id, queue in sorted(engine.queues.items()):
            waiting.add_metric([queue_id], len(queue.waiting))
            first = min((ix.arrived_at for ix in queue.waiting.values()), default=None)  # as the wallboard
            oldest.add_metric([queue_id], 0.0 if first is None else max(0.0, now - first))
        yield waiting
        yield oldest
        finished = CounterMetricFamily(
            "centrale_interactions_finished", "Interactions finished, by outcome", labels=["outcome"]
        )
        for outcome, count in sorted(engine.finished.items()):
            finished.add_metric([outcome], count)
        yield finished

    def _writer(self) -> Iterator[Metric]:
        writer = self.services.writer
        yield GaugeMetricFamily(
            "centrale_writer_running", "1 while the writer applies events", writer.running
        )
        yield CounterMetricFamily("centrale_events_stored", "Events in the stored log", writer.stored_seq)

    def _sip(self, sip: Any) -> Iterator[Metric]:
        calls = GaugeMetricFamily("centrale_sip_calls", "SIP calls per state", labels=["state"])
        states = Counter(str(call.state.value) for call in list(sip.calls.values()))
        for state, count in sorted(states.items()):
            calls.add_metric([state], count)
        yield calls
        limiter = sip.guard.limiter.snapshot()
        for key, name, text in (
            ("dropped", "sip_datagrams_dropped", "Datagrams dropped over a source's hard limit"),
            ("limited", "sip_requests_limited", "Out-of-dialog requests answered 503 over a source's rate"),
            ("blocked", "sip_sources_blocked", "Sources blocked after failed REGISTERs"),
        ):
            yield CounterMetricFamily(f"centrale_{name}", text, limiter[key])
        yield CounterMetricFamily(
            "centrale_sip_invites_refused_overload", "New calls refused (503) with too many in set-up",
            sip.guard.overloaded,
        )  # fmt: skip
        websocket = getattr(sip, "websocket", None)
        if websocket is not None:
            admission = websocket.admission
            yield GaugeMetricFamily(
                "centrale_websocket_connections", "SIP WebSocket connections open", admission.total
            )
            refused = CounterMetricFamily(
                "centrale_websocket_handshakes_refused", "WebSocket handshakes refused", labels=["reason"]
            )
            for reason, count in sorted(admission.refused.items()):
                refused.add_metric([reason], count)
            yield refused

    def _dialer(self, dialer: Any) -> Iterator[Metric]:
        trunk = getattr(dialer, "trunk", None)
        outcomes = getattr(trunk, "outcomes", None)
        if outcomes is not None:
            dials = CounterMetricFamily("centrale_trunk_dials", "Trunk dials, by outcome", labels=["outcome"])
            for outcome, count in sorted(outcomes.items()):
                dials.add_metric([outcome], count)
            yield dials
        calls = CounterMetricFamily(
            "centrale_campaign_calls", "Campaign calls, by outcome", labels=["campaign", "outcome"]
        )
        ringing = GaugeMetricFamily("centrale_campaign_calls_ringing", "Dials ringing", labels=["campaign"])
        running = GaugeMetricFamily("centrale_campaign_running", "1 while dialling", labels=["campaign"])
        for campaign_id, run in sorted(dialer.runs.items()):
            for outcome, count in run.counters.items():
                calls.add_metric([campaign_id, outcome], count)
            ringing.add_metric([campaign_id], len(run.ringing))
            running.add_metric([campaign_id], 1 if run.status == RUNNING else 0)
        yield calls
        yield ringing
        yield running


def registry_for(services: Services) -> CollectorRegistry:
    """A registry of its own per app (not the process-wide default: tests run several servers)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CenterCollector(services))
    return registry


__all__ = ["CenterCollector", "registry_for"]
