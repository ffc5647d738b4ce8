"""SIP flood limiting: per-source rate limits in front of the SIP service.

Theory of operation
-------------------
A SIP service on UDP answers whoever sends it a datagram, so one source can keep it busy — a
scanner's OPTIONS sweep, an INVITE flood, a REGISTER brute force. Three limits, all per source IP
address (the port is the sender's to choose, so it names nothing), protect the callers and phones
from everybody else:

* **Datagrams (hard limit).** Every datagram from a source takes a token from its bucket
  (``datagrams_per_second``, up to ``datagram_burst`` saved up). With the bucket empty the datagram
  is dropped *before sippy parses it*, unanswered: a flood costs a dictionary look-up per datagram,
  not a parse, and earns no answer to amplify. This counts responses and in-dialog requests too, so
  it is set well above what one phone or caller ever sends.
* **Out-of-dialog requests (soft limit).** INVITE, REGISTER, OPTIONS … that start a transaction take
  a token from a second bucket (``requests_per_second``, ``burst``). Beyond it the request is answered
  ``503 Service Unavailable`` with ``Retry-After: retry_after``: a well-behaved peer backs off, and
  the request costs no call state, no rtpengine and no engine event.
* **Failed REGISTER authentications (brute force).** ``register_failures`` refused REGISTERs (a
  ``403``: wrong password, unknown user) within ``register_window`` seconds block the source's
  REGISTERs for ``register_block`` seconds: they are answered ``503`` with ``Retry-After`` (the
  remaining time) without checking the credentials, so guessing stops paying.

One limit is global, not per source — **overload**: at most ``max_calls_in_setup`` new calls may be
in set-up at once (INVITE received, media and the engine's queueing not done yet). Past the
service's capacity set-up times grow without bound and every call, the ones already accepted
included, times out together; refusing the excess with ``503`` + ``Retry-After`` instead keeps the
accepted calls at their normal set-up time (and a carrier retries or routes elsewhere). Exempt
sources are not exempt from this one: capacity is capacity.

Sources in ``exempt`` (carriers' gateways, session border controllers that carry many callers' calls
from one address; the trunk's gateways are added by the SIP service) are never limited.

Each limited source is logged once per ``log_interval`` and per kind of limit — one WARNING naming
the source, the limit and what is done — and, while it goes on, once per interval again with the
number limited since; a flood does not become a log flood.

:class:`FloodLimiter` holds the state and decides; it is sans-I/O (time comes with every call) and
runs on the SIP thread only. The number of sources it remembers is bounded (``max_sources``): idle
sources are forgotten first, so a flood from spoofed addresses cannot grow memory without end.
:func:`guarded_transaction_manager` makes a sippy transaction manager whose datagram entry point
consults the limiter first.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:
    from centrale.telephony.settings import TelephonySettings

log = logging.getLogger("centrale.telephony.flood")

__all__ = ["FloodLimiter", "FloodLimits", "SipGuard", "Verdict", "guarded_transaction_manager"]


def check_networks(value: list[str]) -> list[str]:
    """A settings validator: every item an IP address or network, or a message naming the bad one."""
    for item in value:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or network (such as 192.0.2.0/24)") from None
    return value


def in_networks(host: str, networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    """Whether `host` (an address as text; anything else is in none) lies in one of `networks`."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in net for net in networks)


def log_due(
    logged: dict[str, float], counts: dict[str, int], key: str, now: float, interval: float
) -> tuple[float | None, int] | None:
    """Count one more refusal of `key`; it is logged at most once per `interval`. None: not now.
    Otherwise (when it was last logged — None the first time —, how many since, this one included)."""
    counts[key] = counts.get(key, 0) + 1
    last = logged.get(key)
    if last is not None and now - last < interval:
        return None
    count, counts[key] = counts[key], 0
    logged[key] = now
    return last, count


class FloodLimits(BaseModel):
    """``limits`` in the telephony settings file (every value per source IP address, but
    ``max_calls_in_setup``, which is for the whole service)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    requests_per_second: float = Field(20.0, gt=0, description="out-of-dialog requests, sustained")
    burst: int = Field(40, ge=1, description="out-of-dialog requests saved up for a burst")
    retry_after: int = Field(5, ge=1, le=3600, description="seconds, in the 503 beyond the request limit")
    datagrams_per_second: float = Field(400.0, gt=0, description="all datagrams; beyond: dropped unanswered")
    datagram_burst: int = Field(800, ge=1)
    register_failures: int = Field(10, ge=1, description="refused REGISTERs within register_window …")
    register_window: float = Field(60.0, gt=0)
    register_block: float = Field(300.0, gt=0, description="… block the source's REGISTERs this long")
    log_interval: float = Field(60.0, gt=0, description="a limited source is logged once per interval")
    max_sources: int = Field(100_000, ge=100, description="sources remembered at most")
    exempt: list[str] = Field(default_factory=list, description="addresses or networks never limited")
    max_calls_in_setup: int = Field(
        250, ge=1, description="new calls being set up at once, all sources together; beyond: 503"
    )

    @field_validator("exempt")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        return check_networks(value)

    @model_validator(mode="after")
    def _sizes(self) -> FloodLimits:
        if self.burst < self.requests_per_second:
            raise ValueError("burst must be at least requests_per_second")
        if self.datagram_burst < self.datagrams_per_second:
            raise ValueError("datagram_burst must be at least datagrams_per_second")
        if self.datagrams_per_second < self.requests_per_second:
            raise ValueError("datagrams_per_second must be at least requests_per_second")
        return self


class Verdict:
    """What to do with one out-of-dialog request (plain strings: cheap to compare)."""

    PASS = "pass"
    LIMITED = "limited"  # over the request rate: 503 + Retry-After
    BLOCKED = "blocked"  # REGISTER from a source blocked for failed authentications: 503


@dataclass(slots=True)
class _Source:
    """One source's buckets and counts."""

    seen: float
    dg_tokens: float
    rq_tokens: float
    failures: list[float] = field(default_factory=list)  # times of refused REGISTERs in the window
    blocked_until: float = 0.0
    # per kind of limit: when it was last logged, and how many were limited since
    logged: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


_WHAT = {
    "datagrams": "more than {dps:g} datagrams/s: dropping them unanswered",
    "requests": "more than {rps:g} out-of-dialog requests/s: answering 503 (Retry-After {ra} s)",
    "register": "{n} failed REGISTER authentications within {win:g} s: its REGISTERs are refused "
    "(503) for {blk:g} s",
}


class FloodLimiter:
    """Per-source limits (see the module docstring). SIP thread only; ``now`` is monotonic seconds."""

    def __init__(self, limits: FloodLimits, exempt: list[str] | None = None) -> None:
        self.limits = limits
        networks = [*limits.exempt, *(exempt or [])]
        self._exempt_nets = [ipaddress.ip_network(n, strict=False) for n in networks]
        self._exempt_cache: dict[str, bool] = {}
        self._sources: dict[str, _Source] = {}
        self.dropped = 0  # datagrams dropped unanswered
        self.limited = 0  # requests answered 503 (rate)
        self.blocked = 0  # REGISTERs answered 503 (brute force)

    # --- decisions ----------------------------------------------------------------------------------
    def exempt(self, host: str) -> bool:
        known = self._exempt_cache.get(host)
        if known is None:
            known = in_networks(host, self._exempt_nets)
            if len(self._exempt_cache) < 10_000:
                self._exempt_cache[host] = known
        return known

    def datagram(self, host: str, now: float) -> bool:
        """One datagram arrived from `host`: True to handle it, False to drop it unanswered."""
        if not self.limits.enabled or self.exempt(host):
            return True
        lim = self.limits
        src = self._sources.get(host)
        if src is None:
            src = self._new(host, now)
        else:
            src.dg_tokens = min(
                lim.datagram_burst, src.dg_tokens + (now - src.seen) * lim.datagrams_per_second
            )
            src.rq_tokens = min(lim.burst, src.rq_tokens + (now - src.seen) * lim.requests_per_second)
            src.seen = now
        if src.dg_tokens >= 1.0:
            src.dg_tokens -= 1.0
            return True
        self.dropped += 1
        self._note(host, src, "datagrams", now)
        return False

    def request(self, host: str, method: str, now: float) -> tuple[str, int]:
        """An out-of-dialog request from `host` (its datagram was admitted): the verdict and, when
        not ``PASS``, the Retry-After seconds."""
        if not self.limits.enabled or self.exempt(host):
            return Verdict.PASS, 0
        lim = self.limits
        src = self._sources.get(host)
        if src is None:  # forgotten since its datagram (a sweep): start afresh
            src = self._new(host, now)
        if method == "REGISTER" and src.blocked_until > now:
            self.blocked += 1
            self._note(host, src, "register", now)
            return Verdict.BLOCKED, max(1, math.ceil(src.blocked_until - now))
        if src.rq_tokens >= 1.0:
            src.rq_tokens -= 1.0
            return Verdict.PASS, 0
        self.limited += 1
        self._note(host, src, "requests", now)
        return Verdict.LIMITED, lim.retry_after

    def register_failed(self, host: str, now: float) -> None:
        """A REGISTER from `host` was refused (403): count it towards the brute-force block."""
        if not self.limits.enabled or self.exempt(host):
            return
        lim = self.limits
        src = self._sources.get(host) or self._new(host, now)
        horizon = now - lim.register_window
        src.failures = [t for t in src.failures if t > horizon]
        src.failures.append(now)
        if len(src.failures) >= lim.register_failures:
            src.failures.clear()
            src.blocked_until = now + lim.register_block
            self._note(host, src, "register", now)

    # --- bookkeeping --------------------------------------------------------------------------------
    def _new(self, host: str, now: float) -> _Source:
        lim = self.limits
        if len(self._sources) >= lim.max_sources:
            self._sweep(now)
        src = _Source(now, float(lim.datagram_burst), float(lim.burst))
        self._sources[host] = src
        return src

    def _sweep(self, now: float) -> None:
        """Forget idle sources (buckets full again, nothing blocked); then, if still too many, the
        least recently seen half."""
        lim = self.limits
        refill = max(lim.datagram_burst / lim.datagrams_per_second, lim.burst / lim.requests_per_second)
        keep = {
            host: src
            for host, src in self._sources.items()
            if src.blocked_until > now or src.failures or now - src.seen < refill
        }
        if len(keep) >= lim.max_sources:
            ordered = sorted(keep.items(), key=lambda item: item[1].seen)
            keep = dict(ordered[len(ordered) // 2 :])
        self._sources = keep

    def _note(self, host: str, src: _Source, kind: str, now: float) -> None:
        """Count a limited message; log the source once per interval and kind of limit."""
        lim = self.limits
        due = log_due(src.logged, src.counts, kind, now, lim.log_interval)
        if due is None:
            return
        last, count = due
        what = _WHAT[kind].format(
            dps=lim.datagrams_per_second,
            rps=lim.requests_per_second,
            ra=lim.retry_after,
            n=lim.register_failures,
            win=lim.register_window,
            blk=lim.register_block,
        )
        if last is None:
            log.warning(
                "SIP flood limit: source %s sent %s (logged once per %g s)", host, what, lim.log_interval
            )
        else:
            log.warning(
                "SIP flood limit: source %s still over its limit: %d %s limited in the last %.0f s",
                host,
                count,
                "REGISTERs" if kind == "register" else kind,
                now - last,
            )

    def snapshot(self) -> dict[str, int]:
        """Counters for logs and benchmarks."""
        return {
            "sources": len(self._sources),
            "dropped": self.dropped,
            "limited": self.limited,
            "blocked": self.blocked,
        }


def retry_after_response(req: Any, seconds: int) -> Any:
    """``503 Service Unavailable`` with ``Retry-After`` for a sippy request."""
    from sippy.SipHeader import SipHeader  # type: ignore[import-untyped]

    resp = req.genResponse(503, "Service Unavailable")
    resp.appendHeader(SipHeader(name="retry-after", bodys=str(seconds)))
    return resp


def guarded_transaction_manager(
    limiter: FloodLimiter,
    clock: Callable[[], float],
    global_config: dict[str, Any],
    recv_request: Callable[[Any, Any], Any],
) -> Any:
    """A sippy ``SipTransactionManager`` that drops datagrams over a source's hard limit before it
    parses them (call on the SIP thread, as sippy's own constructor)."""
    from sippy.SipTransactionManager import SipTransactionManager  # type: ignore[import-untyped]
    from sippy.Udp_server import Udp_server, Udp_server_opts  # type: ignore[import-untyped]

    class OrderedUdpOpts(Udp_server_opts):  # type: ignore[misc]
        # sippy's default is three sender and three receiver threads on one queue and socket, which
        # can put a REFER's NOTIFY on the wire before its 202, or a BYE before that NOTIFY
        # (RFC 3515 wants them in order). One of each keeps the order the SIP thread made them in;
        # at 100 new calls/s that is some 2,000 datagrams/s each way, well within one thread.
        nworkers = 1

    class GuardedTransactionManager(SipTransactionManager):  # type: ignore[misc]
        model_udp_server = (Udp_server, OrderedUdpOpts)

        def handleIncoming(self, data_in: Any, ra: Any, server: Any, rtime: Any) -> None:
            if limiter.datagram(ra.address[0], clock()):
                super().handleIncoming(data_in, ra, server, rtime)

    return GuardedTransactionManager(global_config, recv_request)


class SipGuard:
    """The SIP service's side of the limits: sippy requests in, responses out (SIP thread)."""

    def __init__(self, settings: TelephonySettings, clock: Callable[[], float] = time.monotonic) -> None:
        gateways = []
        if settings.trunk is not None:  # a carrier answers many calls from one address
            gateways = [settings.trunk.host, *(a.rpartition(":")[0] for a in settings.trunk.routes.values())]
        exempt = []
        for host in gateways:
            try:
                exempt.append(str(ipaddress.ip_address(host)))
            except ValueError:
                log.info("trunk gateway %s is a name, not an address: not exempt from flood limits", host)
        self.limiter = FloodLimiter(settings.limits, exempt)
        self.clock = clock
        self.max_in_setup = settings.limits.max_calls_in_setup if settings.limits.enabled else None
        self.retry_after = settings.limits.retry_after
        self.log_interval = settings.limits.log_interval
        # Calls in set-up = started − done: each counter has one writer (started: the SIP thread,
        # done: the asyncio loop), so no lock is needed and a reading is at worst one call stale.
        self.setups_started = 0
        self.setups_done = 0
        self.overloaded = 0  # INVITEs refused for overload, in all
        self._overload_logged = -1e18
        self._overload_since_log = 0

    def overload(self, req: Any) -> Any:
        """None to take a new call, else the 503 to refuse it with (too many calls in set-up)."""
        if self.max_in_setup is None or self.setups_started - self.setups_done < self.max_in_setup:
            return None
        self.overloaded += 1
        self._overload_since_log += 1
        now = self.clock()
        if now - self._overload_logged >= self.log_interval:
            log.warning(
                "overload: %d calls in set-up (max_calls_in_setup %d): refusing new calls with 503 "
                "(Retry-After %d s); %d refused since the last report",
                self.setups_started - self.setups_done, self.max_in_setup, self.retry_after,
                self._overload_since_log,
            )  # fmt: skip
            self._overload_logged = now
            self._overload_since_log = 0
        return retry_after_response(req, self.retry_after)

    def transaction_manager(
        self, global_config: dict[str, Any], recv_request: Callable[[Any, Any], Any]
    ) -> Any:
        return guarded_transaction_manager(self.limiter, self.clock, global_config, recv_request)

    def check(self, req: Any) -> Any:
        """None to handle the out-of-dialog request, else the 503 to answer it with."""
        verdict, seconds = self.limiter.request(_host(req), req.getMethod(), self.clock())
        return None if verdict is Verdict.PASS else retry_after_response(req, seconds)

    def registered(self, req: Any, resp: Any) -> None:
        """The registrar answered `resp`: a 403 counts towards the source's brute-force block."""
        if resp.getSCode()[0] == 403:
            self.limiter.register_failed(_host(req), self.clock())


def _host(req: Any) -> str:
    return str(req.getSource()[0])
