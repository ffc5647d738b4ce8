"""Outbound campaigns in the live server: the campaign runner (dialer), its lists and do-not-call.

Theory of operation
-------------------
:class:`CampaignRunner` is one of :attr:`Services.workers` and a writer :class:`Listener`. It keeps
every campaign of the ``campaigns`` table in memory as a sans-I/O
:class:`~centrale.outbound.campaign.Campaign` over the contacts of the lists uploaded to it
(``campaign_lists``), with one :class:`~centrale.outbound.state.ComplianceState` for the whole
deployment (do-not-call entries from ``dnc_entries``, attempts, abandoned calls). It is driven the
way :mod:`centrale.outbound.dialer_sim` drives a campaign, on the real clock:

* **Pacing.** Once a second, and soon after an agent becomes ready, each *running* campaign builds a
  :class:`~centrale.outbound.pacing.PacingSnapshot` — the engine's agents that may take the
  campaign's queue (its requirement, voice capacity; ready = free, reserved/busy = talking, wrap-up),
  the campaign's calls ringing, the answered calls waiting in the queue, the live/abandoned
  calls of the last hour (the evaluation window) and of the preset's window (the margin under the
  cap) — asks ``lines_to_dial`` and takes that many ``next_leads`` (each one
  compliance-checked and recorded, the lead now *in progress*).
* **Persist, then dial.** The campaign position (``to_state()`` plus the runner's counters) is
  stored with ``EventStore.append([], campaigns={id: state})`` **before** any of those dials is
  handed to the trunk. If storing fails the dials are not placed and their leads are settled as
  ``failed`` (retried per the rules). So every dial the outside world ever sees is in a stored
  position as in progress (or settled), with its attempt counted: a restart can never dial the same
  (lead, attempt) again. Dial ids are ``<campaign>.<generation>:<lead>:<attempt>``, unique for ever,
  and are the engine's interaction ids for answered calls.
* **Call progress.** ``busy``, ``no_answer``, ``failed`` and ``machine`` are recorded with
  ``record_outcome`` (retry rules), and the position is stored within a second. A ``machine`` (the
  trunk keeps it up) follows the campaign's ``answering_machine`` setting
  (``campaign.machine_handling``): hung up (``machine``), the recorded message played by the trunk
  then hung up (``machine_message``; only with consent), or queued for an agent like an answered
  call with attribute ``machine`` — no live call for the 3 % rule; not taken within 2 s it is hung
  up as ``machine``, taken it is settled by the disposition (``answered``, ``machine=True``).
  ``answered`` becomes ``InteractionArrived(dial_id, queue, contact=number, direction="outbound",
  attributes={"campaign", "lead"})``; the engine offers it to an agent. If no agent is connected
  within 2 s (``connect_within``) the runner posts ``CustomerAbandoned`` (a queue with
  ``max_wait`` ≤ 2 s expires it itself): the trunk plays the information message and hangs up, and
  the call counts as *abandoned* — for the 3 % rule (compliance tracker) and for pacing.
* **Dispositions.** When the engine finishes the interaction (``InteractionFinished`` in a batch)
  the runner records the agent's disposition with ``record_outcome(..., "answered",
  disposition=…, agent_connect_delay=…)`` — a sale closes the lead, a callback schedules it, a
  do-not-call request goes on the do-not-call list (and into ``dnc_entries``) — inside the batch's
  own transaction (:meth:`in_transaction`), together with the campaign position: the finished
  interaction and the settled lead are stored together or not at all. A disposition the campaign
  does not know (or none) settles the call with the campaign's first ``no_contact`` disposition,
  or as ``failed`` when it has none (the live call still counts for compliance). A transferred call
  is settled by the segment that continues it.

Restart
-------
At start the runner reads the campaigns, their lists, the do-not-call entries and
``store.campaign_positions()``, and rebuilds each campaign at its stored position (leads matched by
id, so a list added since keeps the old leads' state). Then every lead still *in progress*:

* whose answered call is still in the engine (recovered from the event log) is settled when that
  interaction finishes — except that a call still queued or offered (its caller has waited through
  the restart, far beyond 2 s) is abandoned at once (``CustomerAbandoned``);
* otherwise its outcome never came back (it was ringing, or its outcome was not stored yet): it is
  settled as **failed** ("outcome unknown after a restart") and so retried after the ``failed``
  retry rule's delay, within that rule's maximum — never redialled at once, never silently twice.

A graceful stop (:meth:`CampaignRunner.stop`) applies the same rule at once to the calls still
ringing: they are hung up and settled as failed; answered calls stay with the engine.

The compliance history that caps and the abandoned-call rate need is rebuilt too: the live and
abandoned calls within the preset's windows are kept in the position and replayed into the
tracker, and each lead's dials are counted again at its last attempt time (conservative: a
frequency cap can only block more than before the restart, never less). Pacing re-learns, starting
progressively, as at the start of a shift.

Limits
------
Two running campaigns on one queue both count its agents (give each campaign its own queue). A
position is stored whole (``to_state()``, linear in the leads) at every save — fine for lists of
tens of thousands. Preview campaigns are not dialled by the runner yet. An agentless campaign
plays its message to whoever answers, asks its keypad survey if it has one (the lead is settled
with the keys pressed), then hangs up. The runner has no trunk
until one is set (``runner.trunk``: a :class:`~centrale.server.trunk.SimulatedTrunk`, later the SIP
trunk); until then campaigns cannot start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import tempfile
import time
import zlib
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from centrale.core.agent import AgentState
from centrale.core.commands import (
    AgentStateChanged,
    Connect,
    InteractionFinished,
    InteractionQueued,
    WrapUpStarted,
)
from centrale.core.config import Disposition
from centrale.core.engine import Engine
from centrale.core.events import (
    CustomerAbandoned,
    DispositionConfigured,
    DispositionSet,
    InteractionArrived,
    WrapUpCompleted,
)
from centrale.core.interaction import InteractionState
from centrale.outbound.answering_machine import MachineAction
from centrale.outbound.campaign import Campaign, Dial
from centrale.outbound.campaign_config import (
    CampaignMode,
    CampaignSettings,
    campaign_settings_from_dict,
)
from centrale.outbound.campaign_errors import CampaignConfigError, CampaignError
from centrale.outbound.contact import Contact, TimeZoneSource
from centrale.outbound.dispositions import DispositionCategory, DispositionRecord
from centrale.outbound.dnc import DncLevel, DncScope, DoNotCallRegistry
from centrale.outbound.errors import ListImportError
from centrale.outbound.leads import LeadStatus
from centrale.outbound.lists import ImportResult, ListImporter
from centrale.outbound.pacing import BusyAgent, DialResult, PacingSnapshot, Phase, TalkEnded, WrapEnded
from centrale.outbound.phone import NumberProblem, normalise_number, problem_message
from centrale.outbound.report import IssueAction, IssueCode, RowIssue
from centrale.outbound.retry import Outcome
from centrale.outbound.state import Attempt, ComplianceState
from centrale.outbound.survey import Survey
from centrale.server.trunk import CallProgress, Trunk
from centrale.server.writer import Batch, Listener, Writer
from centrale.storage import EventStore, StorageError
from centrale.storage.db import dialect_insert
from centrale.storage.eventstore import upsert_campaign_positions
from centrale.storage.schema import campaign_lists, campaign_positions, campaigns, dnc_entries

log = logging.getLogger("centrale.dialer")

__all__ = [
    "GLOBAL_SCOPE",
    "CampaignProblem",
    "CampaignRunner",
    "DocumentProblem",
    "ParsedDocument",
    "contact_from_json",
    "contact_to_json",
    "normalise_dnc_number",
    "parse_document",
]

RUNNING, PAUSED, STOPPED = "running", "paused", "stopped"
STATUSES = (RUNNING, PAUSED, STOPPED)
GLOBAL_SCOPE = "*"
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
WINDOW_SECONDS = 3600.0
"""The pacing policy's evaluation window (as in the simulator)."""
UPLOADED = "(uploaded)"
"""What the ``file`` of a list in a campaign document stands for in the server: lists are uploaded."""

_LOGGED_OUT, _NOT_READY = AgentState.LOGGED_OUT, AgentState.NOT_READY
_READY, _RESERVED, _BUSY, _WRAP = AgentState.READY, AgentState.RESERVED, AgentState.BUSY, AgentState.WRAP_UP
_WAITING = (InteractionState.QUEUED, InteractionState.OFFERED)


# --- campaign documents --------------------------------------------------------------------------------
class DocumentProblem(Exception):
    """A campaign document that cannot be used: ``where: problem`` (422 config.invalid)."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}" if where else problem)
        self.where = where
        self.problem = problem


class CampaignProblem(Exception):
    """A request the campaign cannot honour now, with an HTTP status and a stable code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ParsedDocument:
    id: str
    account: str
    queue: str
    name: str
    document: dict[str, Any]
    """The campaign YAML as data (``account``/``queue`` moved out; lists' ``file`` set to UPLOADED)."""
    settings: CampaignSettings


def _matches_id(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(ID_PATTERN, value) is not None


def parse_document(body: object, *, campaign_id: str | None = None) -> ParsedDocument:
    """Check a campaign document (the YAML ``centrale campaign check`` reads, as JSON, plus
    ``account`` and ``queue``) and build its settings; raise :class:`DocumentProblem`.

    ``account`` may be given at the top level, in ``campaign.account`` or both (then they must
    agree). Lists need no ``file`` (they are uploaded); a ``file`` given is ignored, never read.
    """
    if not isinstance(body, dict):
        raise DocumentProblem("", "a campaign must be a JSON object")
    doc = {k: v for k, v in body.items() if k not in ("account", "queue")}
    account = body.get("account")
    queue = body.get("queue")
    head = doc.get("campaign")
    if not isinstance(head, dict):
        raise DocumentProblem("campaign", "this field is required (an object with id, account and name)")
    head = dict(head)
    if account is None:
        account = head.get("account")
    elif head.get("account") not in (None, account):
        raise DocumentProblem(
            "campaign.account", f"{head.get('account')!r} does not match account {account!r}"
        )
    if not isinstance(account, str) or not _matches_id(account):
        raise DocumentProblem("account", f"expected an account id, got {account!r}")
    head["account"] = account
    if campaign_id is not None:
        if head.get("id", campaign_id) != campaign_id:
            raise DocumentProblem("campaign.id", "the id in the body must match the URL")
        head["id"] = campaign_id
    if not _matches_id(head.get("id")):
        raise DocumentProblem(
            "campaign.id", "expected 1–64 letters, digits, '_', '.' or '-', starting with a letter or digit"
        )
    if not isinstance(queue, str) or not queue:
        raise DocumentProblem("queue", "this field is required: the outbound queue answered calls go to")
    doc["campaign"] = head
    lists = doc.get("lists")
    if isinstance(lists, list):
        fixed = []
        for i, spec in enumerate(lists):
            if isinstance(spec, dict):
                if "name" in spec and not _matches_id(spec["name"]):
                    raise DocumentProblem(
                        f"lists[{i}].name", "expected 1–64 letters, digits, '_', '.' or '-' (no spaces)"
                    )
                spec = {**spec, "file": UPLOADED}
            fixed.append(spec)
        doc["lists"] = fixed
    try:
        settings = campaign_settings_from_dict(doc, source="campaign")
    except CampaignConfigError as exc:
        raise DocumentProblem(exc.where or "top level", exc.problem) from None
    return ParsedDocument(settings.id, account, queue, settings.name, doc, settings)


def public_document(run_doc: Mapping[str, Any], account: str, queue: str) -> dict[str, Any]:
    """The document as the API shows it: what it accepts, so a GET can be edited and PUT back."""
    doc = {"account": account, "queue": queue, **run_doc}
    lists = doc.get("lists")
    if isinstance(lists, list):
        doc["lists"] = [
            {k: v for k, v in s.items() if k != "file"} if isinstance(s, dict) else s for s in lists
        ]
    return doc


# --- contacts as JSON ----------------------------------------------------------------------------------
def _iso(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()


def contact_to_json(c: Contact) -> dict[str, Any]:
    """A contact as plain JSON values (the ``campaign_lists.contacts`` column)."""
    out: dict[str, Any] = {"row": c.row, "phone": c.phone}
    if c.alt_phones:
        out["alt_phones"] = list(c.alt_phones)
    for name in (
        "first_name",
        "last_name",
        "customer_id",
        "street",
        "postal_code",
        "city",
        "state",
        "country",
        "consent_source",
        "consent_scope",
    ):
        value = getattr(c, name)
        if value:
            out[name] = value
    if c.time_zones:
        out["time_zones"] = list(c.time_zones)
    out["time_zone_source"] = c.time_zone_source.value
    for name in (
        "consent_given_at",
        "consent_expires_at",
        "consent_withdrawn_at",
        "customer_relationship_ended_on",
    ):
        value = getattr(c, name)
        if value is not None:
            out[name] = _iso(value)
    if c.customer_relationship_active:
        out["customer_relationship_active"] = True
    if c.custom:
        out["custom"] = dict(c.custom)
    return out


def contact_from_json(d: Mapping[str, Any]) -> Contact:
    """The inverse of :func:`contact_to_json`."""

    def when(name: str) -> datetime | None:
        v = d.get(name)
        return None if v is None else datetime.fromisoformat(v)

    ended = d.get("customer_relationship_ended_on")
    return Contact(
        row=int(d["row"]),
        phone=str(d["phone"]),
        alt_phones=tuple(d.get("alt_phones", ())),
        first_name=d.get("first_name", ""),
        last_name=d.get("last_name", ""),
        customer_id=d.get("customer_id", ""),
        street=d.get("street", ""),
        postal_code=d.get("postal_code", ""),
        city=d.get("city", ""),
        state=d.get("state", ""),
        country=d.get("country", ""),
        time_zones=tuple(d.get("time_zones", ())),
        time_zone_source=TimeZoneSource(d.get("time_zone_source", "unknown")),
        consent_given_at=when("consent_given_at"),
        consent_source=d.get("consent_source", ""),
        consent_scope=d.get("consent_scope", ""),
        consent_expires_at=when("consent_expires_at"),
        consent_withdrawn_at=when("consent_withdrawn_at"),
        customer_relationship_active=bool(d.get("customer_relationship_active", False)),
        customer_relationship_ended_on=None if ended is None else date.fromisoformat(ended),
        custom=dict(d.get("custom", {})),
    )


def _issue_json(i: RowIssue) -> dict[str, Any]:
    return {
        "row": i.row,
        "field": i.field,
        "raw_value": i.raw,
        "code": i.code.value,
        "action": i.action.value,
        "first_row": i.first_row,
        "message": i.message,
    }


def issue_from_json(d: Mapping[str, Any]) -> RowIssue:
    return RowIssue(
        int(d["row"]),
        d["field"],
        d["raw_value"],
        IssueCode(d["code"]),
        d["message"],
        IssueAction(d["action"]),
        d.get("first_row"),
    )


# --- do-not-call numbers and scopes --------------------------------------------------------------------
def normalise_dnc_number(raw: str, region: str = "NL") -> str:
    """E.164 form of a number for the do-not-call list; ValueError with a sentence if it is not one."""
    result = normalise_number(raw, region.upper())
    if isinstance(result, NumberProblem):
        raise ValueError(f"{raw!r}: {problem_message(result)}")
    return result.e164


def dnc_scope(text: str) -> DncScope:
    """The registry scope of a ``dnc_entries.scope`` value: ``*``, ``campaign:<id>`` or an account id."""
    if text == GLOBAL_SCOPE:
        return DncScope.everywhere()
    if text.startswith("campaign:"):
        return DncScope.campaign(text.removeprefix("campaign:"))
    return DncScope.account(text)


def _objection_scope(run: CampaignRun) -> str:
    """Where a do-not-call disposition of the campaign puts the number (as the campaign does)."""
    level = run.settings.do_not_call_scope
    if level is DncLevel.GLOBAL:
        return GLOBAL_SCOPE
    if level is DncLevel.ACCOUNT:
        return run.account
    return f"campaign:{run.id}"


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


# --- in-memory state -----------------------------------------------------------------------------------
@dataclass
class UploadedList:
    name: str
    filename: str
    region: str
    mapping: dict[str, Any]
    rows: int
    accepted: int
    rejected: int
    issues: list[dict[str, Any]]
    contacts: tuple[Contact, ...]
    created: float

    def summary(self) -> dict[str, Any]:
        by_code: dict[str, int] = {}
        for issue in self.issues:
            by_code[issue["code"]] = by_code.get(issue["code"], 0) + 1
        return {
            "name": self.name,
            "file": self.filename,
            "region": self.region,
            "mapping": self.mapping,
            "rows": self.rows,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "values_dropped": sum(1 for i in self.issues if i["action"] == IssueAction.VALUE_DROPPED.value),
            "complete": not self.issues,
            "issues_by_code": dict(sorted(by_code.items())),
            "uploaded": self.created,
        }


COUNTERS = (
    "dialed",
    "answered",
    "connected",
    "abandoned",
    "machine",
    "busy",
    "no_answer",
    "failed",
    "unknown",
    "messages",
    "machine_messages",
    "machine_to_agent",
)


@dataclass
class CampaignRun:
    """One campaign as the runner holds it."""

    id: str
    account: str
    name: str
    queue: str
    status: str
    created: float
    document: dict[str, Any]
    settings: CampaignSettings
    lists: dict[str, UploadedList] = field(default_factory=dict)
    campaign: Campaign | None = None
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    calls: list[list[Any]] = field(default_factory=list)
    """Live calls for the compliance history: ``[epoch, number, "l" | "a"]`` (connected / abandoned)."""
    ringing: dict[str, tuple[str, float]] = field(default_factory=dict)
    window: deque[tuple[float, bool]] = field(default_factory=deque)
    """(answer time, abandoned) of the live calls of the last hour, for pacing."""
    shift_started: float = 0.0
    dirty: bool = False
    broken: str = ""
    """Why the campaign must not dial (its stored position could not be restored)."""

    @property
    def generation(self) -> str:
        return _base36(int(self.created * 1000))

    @property
    def dial_settings(self) -> CampaignSettings:
        """The settings restricted to the lists uploaded so far (the others are not dialled yet)."""
        return replace(self.settings, lists=tuple(s for s in self.settings.lists if s.name in self.lists))


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


@dataclass
class _Call:
    """An answered call of a campaign while the engine has it."""

    campaign: str
    lead: str
    number: str
    answered_at: float
    connected_at: float | None = None
    wrap_started: float | None = None
    agent: str | None = None
    transferred_to: str | None = None
    guard: asyncio.TimerHandle | None = None
    machine: bool = False
    """An answering machine passed to an agent (``answering_machine.action: pass_to_agent``)."""


def lead_of(dial_id: str) -> tuple[str, int]:
    """(lead id, attempt) of a dial id ``<campaign>.<generation>:<list>:<row>:<attempt>``."""
    _, list_name, row, attempt = dial_id.split(":")
    return f"{list_name}:{row}", int(attempt)


# --- the runner ----------------------------------------------------------------------------------------
class CampaignRunner(Listener):
    """Runs the live server's outbound campaigns (see the module docstring)."""

    def __init__(
        self,
        store: EventStore,
        writer: Writer,
        *,
        clock: Callable[[], float] = time.time,
        trunk: Trunk | None = None,
        tick: float = 1.0,
        connect_within: float = 2.0,
        poke: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.writer = writer
        self.clock = clock
        self.trunk = trunk
        self.tick = tick
        self.connect_within = connect_within
        self.poke = poke or (lambda: None)
        self.compliance = ComplianceState()
        self.runs: dict[str, CampaignRun] = {}
        self._calls: dict[str, _Call] = {}
        self._fields: dict[str, dict[str, Any]] = {}  # interaction → fields the agent registered
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._effects: list[Callable[[], Any]] = []
        self._started = False
        self._flushed = 0.0
        self._imports = asyncio.Lock()

    @property
    def engine(self) -> Engine:
        return self.writer.engine

    @property
    def sql(self) -> sa.Engine:
        return self.store.sql

    # --- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        self._load()
        self._recover()
        self._started = True
        self._loop_task = asyncio.get_running_loop().create_task(self._run(), name="centrale-dialer")

    async def stop(self) -> None:
        """Stop dialling: calls still ringing are hung up and settled as ``failed`` (retried per the
        rules, as after a crash); answered calls stay with the engine and are settled when they end,
        after the restart. The positions are stored."""
        self._started = False
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        ringing = [
            (run, dial_id, lead) for run in self.runs.values() for dial_id, (lead, _) in run.ringing.items()
        ]
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for call in self._calls.values():
            if call.guard is not None:
                call.guard.cancel()
        now = self.clock()
        for run, dial_id, lead_id in ringing:
            await self._hangup(dial_id, False)
            if run.campaign is not None and self._settle(run, lead_id, Outcome.FAILED, now):
                lead = run.campaign.leads[lead_id]
                lead.reason = f"the server stopped while the call rang; {lead.reason}"
        with contextlib.suppress(StorageError):
            self._flush(force=True)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- loading and recovery ---------------------------------------------------------------------
    def _load(self) -> None:
        with self.sql.connect() as conn:
            rows = conn.execute(sa.select(campaigns)).mappings().all()
            list_rows = (
                conn.execute(sa.select(campaign_lists).order_by(campaign_lists.c.created)).mappings().all()
            )
        lists_of: dict[str, list[Any]] = {}
        for lr in list_rows:
            lists_of.setdefault(lr["campaign"], []).append(lr)
        self._load_dnc()
        positions = self.store.campaign_positions()
        for row in rows:
            try:
                parsed = parse_document(
                    {**row["settings"], "account": row["account"], "queue": row["queue"]},
                    campaign_id=row["id"],
                )
            except DocumentProblem as exc:
                log.error("campaign %s cannot be loaded: %s", row["id"], exc)
                continue
            run = CampaignRun(
                row["id"],
                row["account"],
                row["name"],
                row["queue"],
                row["status"],
                float(row["created"]),
                parsed.document,
                parsed.settings,
            )
            for lr in lists_of.get(run.id, ()):
                run.lists[lr["name"]] = UploadedList(
                    lr["name"],
                    lr["filename"],
                    lr["region"],
                    dict(lr["mapping"]),
                    lr["rows"],
                    lr["accepted"],
                    lr["rejected"],
                    list(lr["issues"]),
                    tuple(contact_from_json(c) for c in lr["contacts"]),
                    float(lr["created"]),
                )
            saved = positions.get(run.id)
            state = saved[0] if saved is not None else None
            try:
                self._build(run, state)
            except Exception:
                # Never dial a campaign whose position cannot be restored: it would redial leads.
                log.critical("campaign %s: the stored position cannot be restored; not dialling it", run.id)
                run.campaign, run.status = None, STOPPED
                run.broken = "its stored position cannot be restored (see the server log)"
            if state is not None and run.campaign is not None:
                self._restore_history(run, state.get("server", {}))
            self.runs[run.id] = run

    def _load_dnc(self) -> None:
        registry = DoNotCallRegistry()
        with self.sql.connect() as conn:
            for row in conn.execute(sa.select(dnc_entries)).mappings():
                try:
                    registry.add(
                        row["number"],
                        dnc_scope(row["scope"]),
                        _dt(float(row["created"])),
                        reason="do-not-call list",
                        source=row["source"],
                    )
                except ValueError as exc:
                    log.warning("skipping do-not-call entry %s/%s: %s", row["number"], row["scope"], exc)
        self.compliance.dnc = registry

    def _build(self, run: CampaignRun, state: Mapping[str, Any] | None, old: Campaign | None = None) -> None:
        """(Re)build the campaign over its uploaded lists, at ``state`` or at ``old``'s position."""
        if not run.lists:
            run.campaign = None
            return
        settings = run.dial_settings
        contacts = {name: run.lists[name].contacts for name in (s.name for s in settings.lists)}
        seed = zlib.crc32(run.id.encode())
        campaign = Campaign(settings, contacts, self.compliance, rng=random.Random(seed))
        if old is not None:
            state = old.to_state()
        if state is not None:
            saved = {entry["id"]: entry for entry in state.get("leads", ())}
            for lead_id, lead in campaign.leads.items():
                entry = saved.get(lead_id)
                if entry is not None:
                    lead.restore(entry)
            mix = {k: v for k, v in state.get("mix", {}).items() if k in campaign.mix.weights}
            campaign.mix.restore(mix)
            # The disposition log, as Campaign.from_state reads it (which would refuse changed lists).
            campaign.records = [
                DispositionRecord(
                    datetime.fromisoformat(r["at"]),
                    r["lead_id"],
                    r["agent_id"],
                    r["code"],
                    DispositionCategory(r["category"]),
                )
                for r in state.get("records", ())
            ]
        if old is not None and old.pacing is not None and old.settings.pacing == settings.pacing:
            campaign.pacing = old.pacing  # keep what the policy has learnt
        run.campaign = campaign

    def _restore_history(self, run: CampaignRun, server: Mapping[str, Any]) -> None:
        for name in COUNTERS:
            run.counters[name] = int(server.get("counters", {}).get(name, 0))
        run.calls = [list(c) for c in server.get("calls", ())]
        compliance = run.settings.compliance
        now = self.clock()
        for at, number, code in run.calls:
            when = _dt(float(at))
            try:
                self.compliance.record_call(
                    compliance,
                    number,
                    when,
                    answered_by_person=True,
                    agent_connect_delay=0.0 if code == "l" else None,
                )
            except Exception:  # a malformed entry must not stop the server; skip it
                continue
            if now - float(at) <= WINDOW_SECONDS:
                run.window.append((float(at), code == "a"))
        campaign = run.campaign
        if campaign is None:
            return
        # Caps count earlier dials: each lead's dials, conservatively at its last attempt time.
        for lead in campaign.leads.values():
            if lead.total_attempts and lead.last_attempt_at is not None:
                for _ in range(lead.total_attempts):
                    self.compliance.attempts.record(
                        Attempt(
                            lead.last_attempt_at, lead.contact.phone, lead.contact.key, run.id, run.account
                        )
                    )

    def _recover(self) -> None:
        """Settle what a crash or a stop left in progress (see the module docstring, "Restart")."""
        now = self.clock()
        for iid, ix in list(self.engine.interactions.items()):
            attrs = ix.attributes or {}
            run = self.runs.get(str(attrs.get("campaign", "")))
            lead = attrs.get("lead")
            if run is None or not isinstance(lead, str):
                continue
            self._calls[iid] = _Call(
                run.id,
                lead,
                ix.contact or "",
                ix.arrived_at,
                ix.answered_at,
                agent=ix.agent,
                machine=attrs.get("machine") is True,
            )
            if ix.state in _WAITING:
                self.writer.post(CustomerAbandoned(iid))
        engaged = {(c.campaign, c.lead) for c in self._calls.values()}
        for run in self.runs.values():
            campaign = run.campaign
            if campaign is None:
                continue
            for lead_id in campaign.in_progress():
                if (run.id, lead_id) in engaged:
                    continue
                try:
                    campaign.record_outcome(lead_id, Outcome.FAILED, _dt(now))
                except CampaignError as exc:  # pragma: no cover - in progress was just checked
                    log.warning("campaign %s: %s", run.id, exc)
                    continue
                lead = campaign.leads[lead_id]
                lead.reason = f"outcome unknown after a restart; {lead.reason}"
                run.counters["unknown"] += 1
                run.dirty = True
            if run.status == RUNNING:
                run.shift_started = now
        self._flush()

    # --- persistence ------------------------------------------------------------------------------
    def position(self, run: CampaignRun) -> dict[str, Any] | None:
        """The stored form of a campaign's position: ``to_state()`` plus the runner's own figures."""
        if run.campaign is None:
            return None
        state = run.campaign.to_state()
        keep = self._history_seconds(run)
        horizon = self.clock() - keep
        run.calls = [c for c in run.calls if float(c[0]) >= horizon]
        state["server"] = {"counters": dict(run.counters), "calls": run.calls}
        return state

    @staticmethod
    def _history_seconds(run: CampaignRun) -> float:
        hours = 24.0
        for rule in run.settings.compliance.rules:
            if rule.kind == "abandon_rate":
                hours = max(hours, float(rule.params.get("window_hours", 24.0)))
            elif rule.kind == "abandoned_repeat":
                hours = max(hours, float(rule.params.get("hours", 72.0)))
        return hours * 3600.0

    def _save(self, runs: Sequence[CampaignRun]) -> None:
        """Store positions now, in their own transaction (raises StorageError)."""
        states = {}
        for run in runs:
            state = self.position(run)
            if state is not None:
                states[run.id] = state
        if states:
            self.store.append([], campaigns=states)
        for run in runs:
            run.dirty = False

    def _flush(self, *, force: bool = False) -> None:
        dirty = [r for r in self.runs.values() if r.dirty or force]
        if dirty:
            self._save(dirty)

    # --- the loop ---------------------------------------------------------------------------------
    async def _run(self) -> None:
        while self._started:
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation that
            # arrives just as the wake-up does, and stop() would then wait on this loop for ever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.tick):
                    await self._wake.wait()
            self._wake.clear()
            try:
                self.step()
            except StorageError as exc:
                log.error("the dialer could not store campaign positions: %s", exc)
            except Exception:
                log.exception("the dialer's step failed")
            await asyncio.sleep(0.05)  # at most twenty decisions a second, however often woken

    def wake(self) -> None:
        self._wake.set()

    def step(self) -> None:
        """One decision for every running campaign, then store what changed."""
        now = self.clock()
        for run in list(self.runs.values()):
            if run.status == RUNNING and run.campaign is not None and self.trunk is not None:
                self._decide(run, now)
        # Outcomes that need no agent are stored within a tick (a crash before that only means the
        # lead is settled as "unknown" at the restart); dials are stored before they are placed.
        if now - self._flushed >= self.tick:
            self._flushed = now
            self._flush()
        if len(self.compliance.audit) > 50_000:
            from centrale.outbound.audit import AuditLog

            self.compliance.audit = AuditLog()  # the decisions' audit lives in memory only

    def snapshot(self, run: CampaignRun, now: float) -> PacingSnapshot:
        """The campaign as its pacing policy sees it at ``now``."""
        free, busy = self._agents(run, now)
        while run.window and run.window[0][0] <= now - WINDOW_SECONDS:
            run.window.popleft()
        waiting = self.engine.waiting(run.queue) if run.queue in self.engine.queues else 0
        elapsed = max(0.0, now - run.shift_started)
        # The regulator's window (the preset's, e.g. 24 h) as the compliance tracker has it, plus
        # the live calls still in conversation: the tracker hears of a call once it is settled.
        regulated = self.compliance.abandon_tracker(run.settings.compliance).window_ending(_dt(now))
        talking = [
            call.connected_at - call.answered_at
            for call in self._calls.values()
            if call.campaign == run.id and call.connected_at is not None and not call.machine
        ]
        return PacingSnapshot(
            agents_free=free,
            busy=busy,
            ringing=[max(0.0, now - started) for _, started in run.ringing.values()],
            waiting=waiting,
            window_live=len(run.window),
            window_abandoned=sum(1 for _, dropped in run.window if dropped),
            window_elapsed=min(elapsed, WINDOW_SECONDS),
            shift_live=run.counters["answered"],
            shift_abandoned=run.counters["abandoned"],
            shift_elapsed=elapsed,
            regulated_live=regulated.live + len(talking),
            regulated_abandoned=regulated.abandoned + sum(1 for d in talking if d > self.connect_within),
        )

    def _agents(self, run: CampaignRun, now: float) -> tuple[int, list[BusyAgent]]:
        rt = self.engine.queues.get(run.queue)
        if rt is None:
            return 0, []
        cfg = rt.config
        task = {"campaign": run.id}
        free = 0
        busy: list[BusyAgent] = []
        for agent in self.engine.agents.values():
            state = agent.state
            if state is _LOGGED_OUT or state is _NOT_READY:
                continue
            if agent.capacity.get(cfg.channel, 0) <= 0 or not cfg.requires.matches(agent, task):
                continue
            if state is _READY:
                free += 1
            elif state is _BUSY or state is _RESERVED:
                busy.append(BusyAgent(Phase.TALK, max(0.0, now - agent.state_since)))
            elif state is _WRAP:
                busy.append(BusyAgent(Phase.WRAP, max(0.0, now - agent.state_since)))
        return free, busy

    def _decide(self, run: CampaignRun, now: float) -> None:
        campaign = run.campaign
        assert campaign is not None
        snapshot = self.snapshot(run, now)
        lines = campaign.lines_to_dial(snapshot, now - run.shift_started)
        if lines <= 0:
            return
        decisions = len(self.compliance.audit)
        dials = campaign.next_leads(lines, _dt(now))
        if len(self.compliance.audit) != decisions:
            run.dirty = True  # a lead compliance blocked keeps the reason and its recheck time
        if not dials:
            return
        # The rule that makes a restart safe: the position with these leads in progress (their
        # attempts counted) is stored before the trunk hears of any of them.
        try:
            self._save([run])
        except StorageError as exc:
            log.error("campaign %s: position not stored, %d dials not placed: %s", run.id, len(dials), exc)
            for dial in dials:
                self._settle(run, dial.lead_id, Outcome.FAILED, now)
            return
        for dial in dials:
            lead = campaign.leads[dial.lead_id]
            dial_id = f"{run.id}.{run.generation}:{dial.lead_id}:{lead.total_attempts}"
            run.ringing[dial_id] = (dial.lead_id, now)
            run.counters["dialed"] += 1
            self._spawn(self._place(run, dial, dial_id))
        self.poke()

    async def _place(self, run: CampaignRun, dial: Dial, dial_id: str) -> None:
        trunk = self.trunk
        started = run.ringing.get(dial_id, (dial.lead_id, self.clock()))[1]
        try:
            if trunk is None:
                raise RuntimeError("no trunk")
            progress = CallProgress(
                await trunk.dial(dial_id, dial.number, dial.caller_id, dial.ring_timeout_seconds)
            )
        except asyncio.CancelledError:
            raise  # the server stops: the lead stays in progress (restart rule)
        except Exception:
            log.exception("campaign %s: the trunk failed dial %s", run.id, dial_id)
            progress = CallProgress.FAILED
        finally:
            run.ringing.pop(dial_id, None)
        now = self.clock()
        current = self.runs.get(run.id)
        if current is not run or run.campaign is None:
            return  # deleted meanwhile
        # --- answering machines: the campaign's answering_machine setting decides ---------------
        machine = progress is CallProgress.MACHINE
        to_agent = machine and self._on_machine(run, dial.lead_id, dial_id, now)
        # --- end of answering machines ----------------------------------------------------------
        run.campaign.observe(
            DialResult(max(0.0, now - started), progress is CallProgress.ANSWERED or to_agent)
        )
        if machine and not to_agent:
            self.wake()
            return
        if progress is not CallProgress.ANSWERED and not machine:
            run.counters[progress.value] += 1
            self._settle(run, dial.lead_id, Outcome(progress.value), now)
            self.wake()
            return
        if not machine:
            run.counters["answered"] += 1
        if run.settings.mode is CampaignMode.AGENTLESS:
            # The message answers at once (nobody waits for an agent, so the call is live, never
            # abandoned), then the trunk hangs up; with a keypad survey the questions follow the
            # message and the lead is settled with the keys pressed.
            plan = run.settings.agentless
            if plan is not None and plan.survey is not None:
                self._spawn(self._survey(run, dial.lead_id, dial_id, plan.survey, plan.message or None))
                return
            self._settle(run, dial.lead_id, Outcome.ANSWERED, now)
            message = plan.message if plan is not None and plan.message else None
            self._spawn(self._hangup(dial_id, False, message, run.settings.language))
            return
        call = _Call(run.id, dial.lead_id, dial.number, now, machine=machine)
        self._calls[dial_id] = call
        call.guard = asyncio.get_running_loop().call_later(self.connect_within, self._guard, dial_id)
        attributes: dict[str, Any] = {"campaign": run.id, "lead": dial.lead_id}
        if machine:
            attributes["machine"] = True  # the desktop shows it: leave a message
        try:
            await self.writer.submit(
                InteractionArrived(
                    dial_id,
                    run.queue,
                    attributes=attributes,
                    contact=dial.number,
                    direction="outbound",
                )
            )
        except Exception as exc:  # refused (queue removed …) or the writer stopped
            if self._calls.pop(dial_id, None) is not None:
                if call.guard is not None:
                    call.guard.cancel()
                log.warning("campaign %s: answered call %s not queued: %s", run.id, dial_id, exc)
                if machine:
                    self._settle(run, call.lead, Outcome.MACHINE, self.clock())
                    self._spawn(self._hangup(dial_id, False))
                else:
                    self._abandoned(run, call, self.clock())
                    self._spawn(self._hangup(dial_id, True))

    def _on_machine(self, run: CampaignRun, lead_id: str, dial_id: str, now: float) -> bool:
        """An answering machine picked up: hang up (outcome machine), leave the campaign's recorded
        message (machine_message) or pass it to an agent (True: the caller queues it)."""
        campaign = run.campaign
        assert campaign is not None
        run.counters["machine"] += 1
        try:
            handling = campaign.machine_handling(lead_id, _dt(now))
        except CampaignError as exc:
            log.warning("campaign %s: lead %s: %s", run.id, lead_id, exc)
            self._spawn(self._hangup(dial_id, False))
            return False
        if handling.action is MachineAction.PASS_TO_AGENT:
            run.counters["machine_to_agent"] += 1
            return True
        if handling.action is MachineAction.LEAVE_MESSAGE:
            if self._settle(run, lead_id, Outcome.MACHINE_MESSAGE, now):
                run.counters["machine_messages"] += 1
            self._spawn(self._hangup(dial_id, False, handling.message, run.settings.language))
            return False
        if self._settle(run, lead_id, Outcome.MACHINE, now) and handling.reason:
            lead = campaign.leads[lead_id]
            lead.reason = f"{handling.reason}; {lead.reason}"
        self._spawn(self._hangup(dial_id, False))
        return False

    def _guard(self, dial_id: str) -> None:
        """2 s after the answer: no agent connected means an abandoned call."""
        call = self._calls.get(dial_id)
        if call is None or call.connected_at is not None:
            return
        call.guard = None
        ix = self.engine.interactions.get(dial_id)
        if ix is not None and ix.state in _WAITING:
            self.writer.post(CustomerAbandoned(dial_id))

    async def _survey(
        self, run: CampaignRun, lead_id: str, dial_id: str, survey: Survey, intro: str | None
    ) -> None:
        """An agentless call's keypad survey (after its message `intro`), then the hang-up; the lead
        is settled as answered with the keys pressed (those answered before a hang-up, or none)."""
        keys: dict[str, str] = {}
        try:
            if self.trunk is not None:
                keys = await self.trunk.survey(dial_id, survey, run.settings.language, intro)
        except Exception:
            log.exception("campaign %s: the survey of %s failed", run.id, dial_id)
        finally:
            await self._hangup(dial_id, False)
        if self.runs.get(run.id) is run:
            self._settle(run, lead_id, Outcome.ANSWERED, self.clock(), keys=keys)
            self.wake()

    async def _hangup(
        self, dial_id: str, play_message: bool, message: str | None = None, language: str = "en"
    ) -> None:
        if self.trunk is None:
            return
        try:
            if message is None:
                await self.trunk.hangup(dial_id, play_message)
            else:
                await self.trunk.hangup(dial_id, play_message, message, language)
        except Exception:
            log.exception("the trunk failed to hang up %s", dial_id)

    def _registration(self, run: CampaignRun, interaction: str) -> dict[str, Any]:
        """The campaign form's values and the agreed callback time the agent registered, as
        ``record_outcome`` keywords (the fields are forgotten once used)."""
        fields = self._fields.pop(interaction, {})
        out: dict[str, Any] = {}
        form = run.settings.form
        if form is not None:
            names = set(form.field_names())
            values = {k: str(v) for k, v in fields.items() if k in names and v not in (None, "")}
            if values:
                out["form"] = values
        when = fields.get("callback_at")
        if isinstance(when, str):
            with contextlib.suppress(ValueError):
                parsed = datetime.fromisoformat(when)
                out["callback_at"] = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        return out

    def material(self, interaction: str, agent_name: str = "") -> dict[str, Any] | None:
        """What the agent desktop shows for a campaign call: the campaign, the script for this
        lead (its fields filled in) and the form to fill in; None for other interactions."""
        call = self._calls.get(interaction)
        run = self.runs.get(call.campaign) if call is not None else None
        if call is None or run is None or run.campaign is None:
            return None
        try:
            script = run.campaign.script_for(call.lead, agent_name=agent_name)
        except CampaignError:
            script = ""
        form = run.settings.form
        return {
            "id": run.id,
            "name": run.name or run.id,
            "script": script,
            "form": [
                {
                    "name": f.name,
                    "type": f.type.value,
                    "label": f.label or f.name,
                    "required": f.required,
                    "choices": list(f.choices),
                    "min": None if f.min is None else str(f.min),
                    "max": None if f.max is None else str(f.max),
                }
                for f in (form.fields if form is not None else ())
            ],
        }

    def check_form(self, interaction: str, fields: Mapping[str, Any], *, finishing: bool) -> dict[str, str]:
        """Problems with the campaign form's values the agent sends (field → problem); {} when fine.
        Required fields are insisted on when the agent finishes wrap-up with any form value given
        (the campaign takes a form whole or not at all)."""
        call = self._calls.get(interaction)
        run = self.runs.get(call.campaign) if call is not None else None
        form = run.settings.form if run is not None else None
        if form is None:
            return {}
        names = set(form.field_names())
        merged = {**self._fields.get(interaction, {}), **fields}  # what was registered before counts
        values = {k: "" if v is None else str(v) for k, v in merged.items() if k in names}
        errors = dict(form.validate(values).errors)
        given = {k for k, v in values.items() if v.strip()}
        if not finishing or not given:  # a form is whole when it is handed in, or not there at all
            errors = {k: v for k, v in errors.items() if k in given}
        return errors

    def _settle(self, run: CampaignRun, lead_id: str, outcome: Outcome, now: float, **kw: Any) -> bool:
        campaign = run.campaign
        if campaign is None or lead_id not in campaign.leads:
            return False
        try:
            campaign.record_outcome(lead_id, outcome, _dt(now), **kw)
        except CampaignError as exc:
            log.warning("campaign %s: lead %s: %s", run.id, lead_id, exc)
            return False
        run.dirty = True
        self.poke()
        return True

    def _abandoned(self, run: CampaignRun, call: _Call, now: float) -> None:
        run.counters["abandoned"] += 1
        run.counters["messages"] += 1
        run.window.append((call.answered_at, True))
        run.calls.append([round(call.answered_at, 3), call.number, "a"])
        self._settle(run, call.lead, Outcome.ABANDONED, now)

    # --- the writer's batches -----------------------------------------------------------------------
    def in_transaction(self, conn: sa.Connection, batch: Batch) -> None:
        if not self._calls or not batch.applied:
            return
        touched: dict[str, CampaignRun] = {}
        objections: list[dict[str, Any]] = []
        try:
            for applied in batch.applied:
                event = applied.entry.event
                if (
                    isinstance(event, (DispositionSet, WrapUpCompleted))
                    and event.fields
                    and event.interaction in self._calls
                ):
                    self._fields.setdefault(event.interaction, {}).update(event.fields)
                for command in applied.commands:
                    if isinstance(command, Connect):
                        self._on_connect(command, batch.at)
                    elif isinstance(command, WrapUpStarted):
                        self._on_wrap(command, batch.at)
                    elif isinstance(command, InteractionQueued):
                        self._on_queued(command)
                    elif isinstance(command, InteractionFinished):
                        run = self._on_finished(command, batch.at, objections)
                        if run is not None:
                            touched[run.id] = run
        except Exception:  # a bug here must not stop the contact center
            log.exception("the dialer could not follow a batch")
        if objections:
            conn.execute(dialect_insert(conn, dnc_entries).on_conflict_do_nothing(), objections)
        states = {}
        for run in touched.values():
            state = self.position(run)
            if state is not None:
                states[run.id] = state
                run.dirty = False
        if states:
            upsert_campaign_positions(conn, states, batch.applied[-1].entry.seq)

    def after(self, batch: Batch) -> None:
        effects, self._effects = self._effects, []
        for effect in effects:
            effect()
        for applied in batch.applied:
            for command in applied.commands:
                if type(command) is AgentStateChanged and command.state == "ready":
                    self.wake()
                    return

    def _on_connect(self, c: Connect, at: float) -> None:
        call = self._calls.get(c.interaction)
        if call is None or call.connected_at is not None:
            return
        call.connected_at = at
        call.agent = c.agent
        if call.guard is not None:
            call.guard.cancel()
            call.guard = None

    def _on_wrap(self, c: WrapUpStarted, at: float) -> None:
        call = self._calls.get(c.interaction)
        if call is None:
            return
        run = self.runs.get(call.campaign)
        call.wrap_started = at
        if run is not None and run.campaign is not None and call.connected_at is not None:
            run.campaign.observe(TalkEnded(max(0.0, at - call.connected_at)))

    def _on_queued(self, c: InteractionQueued) -> None:
        parent = self._calls.get(c.parent or "")
        if parent is None:
            return
        parent.transferred_to = c.interaction
        self._calls[c.interaction] = _Call(
            parent.campaign,
            parent.lead,
            parent.number,
            parent.answered_at,
            parent.connected_at,
            agent=parent.agent,
            machine=parent.machine,
        )

    def _on_finished(
        self, c: InteractionFinished, at: float, objections: list[dict[str, Any]]
    ) -> CampaignRun | None:
        call = self._calls.pop(c.interaction, None)
        if call is None:
            return None
        if call.guard is not None:
            call.guard.cancel()
        run = self.runs.get(call.campaign)
        if run is None or run.campaign is None:
            return None
        campaign = run.campaign
        if call.wrap_started is not None and c.outcome == "done":
            campaign.observe(WrapEnded(max(0.0, at - call.wrap_started)))
        if c.outcome == "transferred" and call.transferred_to is not None:
            return None  # the segment that continues the call settles it
        dial_id = c.interaction
        if call.machine:
            return self._machine_finished(run, call, c, at, objections)
        if call.connected_at is None:
            self._abandoned(run, call, at)
            self._effects.append(lambda: self._spawn(self._hangup(dial_id.split(">")[0], True)))
            self._effects.append(self.wake)
            return run
        delay = max(0.0, call.connected_at - call.answered_at)
        late = delay > self.connect_within
        run.counters["connected"] += 1
        if late:
            run.counters["abandoned"] += 1
        run.window.append((call.answered_at, late))
        run.calls.append([round(call.answered_at, 3), call.number, "a" if late else "l"])
        agent = c.agent or call.agent
        disposition = c.disposition
        codes = run.settings.dispositions
        if disposition is None or disposition not in codes:
            disposition = next(
                (d.code for d in codes.values() if d.category == DispositionCategory.NO_CONTACT.value), None
            )
        if disposition is None:
            self.compliance.record_call(
                run.settings.compliance,
                call.number,
                _dt(at),
                answered_by_person=True,
                agent_connect_delay=delay,
            )
            self._settle(run, call.lead, Outcome.FAILED, at)
        else:
            extra = self._registration(run, c.interaction)
            settled = self._settle(
                run,
                call.lead,
                Outcome.ANSWERED,
                at,
                disposition=disposition,
                agent_id=agent,
                agent_connect_delay=delay,
                **extra,
            )
            if not settled and extra:  # a form the campaign refuses must not keep the lead open
                self._settle(
                    run,
                    call.lead,
                    Outcome.ANSWERED,
                    at,
                    disposition=disposition,
                    agent_id=agent,
                    agent_connect_delay=delay,
                )
            if codes[disposition].category == DispositionCategory.DO_NOT_CALL.value:
                lead = campaign.leads.get(call.lead)
                scope = _objection_scope(run)
                if lead is not None:
                    for number in dict.fromkeys((lead.contact.phone, *lead.contact.alt_phones)):
                        objections.append(
                            {
                                "number": number,
                                "scope": scope,
                                "created": at,
                                "source": f"campaign {run.id}: do-not-call request",
                            }
                        )
        self._effects.append(lambda: self._spawn(self._hangup(dial_id.split(">")[0], False)))
        return run

    def _machine_finished(
        self,
        run: CampaignRun,
        call: _Call,
        c: InteractionFinished,
        at: float,
        objections: list[dict[str, Any]],
    ) -> CampaignRun:
        """A machine passed to an agent ended: no live call (neither connected nor abandoned for the
        3 % rule). Not taken by an agent: hung up, outcome machine. Taken: the disposition settles it."""
        dial_id = c.interaction.split(">")[0]
        codes = run.settings.dispositions
        disposition = c.disposition
        if call.connected_at is None or disposition is None or disposition not in codes:
            if call.connected_at is not None:
                disposition = next(
                    (d.code for d in codes.values() if d.category == DispositionCategory.NO_CONTACT.value),
                    None,
                )
            if disposition is None or call.connected_at is None:
                self._settle(run, call.lead, Outcome.MACHINE, at)
                self._effects.append(lambda: self._spawn(self._hangup(dial_id, False)))
                self._effects.append(self.wake)
                return run
        settled = self._settle(
            run,
            call.lead,
            Outcome.ANSWERED,
            at,
            disposition=disposition,
            agent_id=c.agent or call.agent,
            machine=True,
        )
        lead = run.campaign.leads.get(call.lead) if run.campaign is not None else None
        if (
            settled
            and lead is not None
            and codes[disposition].category == DispositionCategory.DO_NOT_CALL.value
        ):
            for number in dict.fromkeys((lead.contact.phone, *lead.contact.alt_phones)):
                objections.append(
                    {
                        "number": number,
                        "scope": _objection_scope(run),
                        "created": at,
                        "source": f"campaign {run.id}: do-not-call request",
                    }
                )
        self._effects.append(lambda: self._spawn(self._hangup(dial_id, False)))
        return run

    # --- figures ------------------------------------------------------------------------------------
    def progress(self, run: CampaignRun) -> dict[str, Any]:
        now = self.clock()
        campaign = run.campaign
        leads: Counter[str] = Counter()
        if campaign is not None:
            leads.update(lead.status.value for lead in campaign.leads.values())
        c = run.counters
        free, busy = self._agents(run, now)
        in_use = len(run.ringing) + sum(
            1 for call in self._calls.values() if call.campaign == run.id and call.wrap_started is None
        )
        agents = free + len(busy)
        tracker = self.compliance.abandon_tracker(run.settings.compliance)
        return {
            "leads": {status.value: leads.get(status.value, 0) for status in LeadStatus},
            "leads_total": sum(leads.values()),
            **{name: c[name] for name in COUNTERS},
            "abandon_rate": round(c["abandoned"] / c["answered"], 4) if c["answered"] else 0.0,
            "abandon_rate_window": round(tracker.rate(_dt(now)), 4),
            "abandon_window_hours": tracker.window.total_seconds() / 3600,
            "ringing": len(run.ringing),
            "agents": agents,
            "agents_ready": free,
            "dial_level": round(in_use / agents, 2) if agents else 0.0,
        }

    def wallboard(self, scope: frozenset[str] | None) -> dict[str, Any]:
        """The wallboard's ``campaigns`` section for an account scope (None: every account)."""
        out = []
        for run in sorted(self.runs.values(), key=lambda r: r.id):
            if scope is not None and run.account not in scope:
                continue
            p = self.progress(run)
            out.append(
                {
                    "id": run.id,
                    "name": run.name or run.id,
                    "account": run.account,
                    "status": run.status,
                    "dial_level": p["dial_level"],
                    "abandon_rate": p["abandon_rate"],
                    "dialed": p["dialed"],
                    "answered": p["answered"],
                    "abandoned": p["abandoned"],
                    "agents": p["agents"],
                }
            )
        return {"campaigns": out}

    # --- changes (the API's) --------------------------------------------------------------------------
    def run(self, campaign_id: str) -> CampaignRun | None:
        return self.runs.get(campaign_id)

    def check_queue(self, account: str, queue: str) -> None:
        if account not in self.engine.accounts:
            raise DocumentProblem("account", f"unknown account {account!r}")
        rt = self.engine.queues.get(queue)
        if rt is None:
            raise DocumentProblem("queue", f"unknown queue {queue!r}")
        if rt.config.account != account:
            raise DocumentProblem(
                "queue", f"queue {queue!r} belongs to account {rt.config.account!r}, not {account!r}"
            )

    def missing_dispositions(self, parsed: ParsedDocument) -> list[Disposition]:
        """Engine dispositions the campaign's codes need (its agents must be able to pick them)."""
        out = []
        for i, (code, d) in enumerate(parsed.settings.dispositions.items()):
            have = self.engine.dispositions.get(code)
            if have is None:
                out.append(Disposition(code, d.label, d.category, parsed.account))
            elif have.account is not None and have.account != parsed.account:
                raise DocumentProblem(
                    f"dispositions[{i}].code", f"disposition {code!r} belongs to account {have.account!r}"
                )
        return out

    async def configure_dispositions(self, parsed: ParsedDocument) -> list[str]:
        added = []
        for d in self.missing_dispositions(parsed):
            await self.writer.submit(DispositionConfigured(d))
            added.append(d.code)
        return added

    async def create(self, parsed: ParsedDocument) -> CampaignRun:
        if parsed.id in self.runs:
            raise CampaignProblem(409, "campaign.exists", f"campaign {parsed.id!r} exists already")
        self.check_queue(parsed.account, parsed.queue)
        self.missing_dispositions(parsed)
        await self.configure_dispositions(parsed)
        if parsed.id in self.runs:  # created by someone else meanwhile
            raise CampaignProblem(409, "campaign.exists", f"campaign {parsed.id!r} exists already")
        run = CampaignRun(
            parsed.id,
            parsed.account,
            parsed.name,
            parsed.queue,
            STOPPED,
            self.clock(),
            parsed.document,
            parsed.settings,
        )
        with self.sql.begin() as conn:
            conn.execute(
                campaigns.insert().values(
                    id=run.id,
                    account=run.account,
                    name=run.name,
                    queue=run.queue,
                    settings=run.document,
                    status=run.status,
                    created=run.created,
                )
            )
        self.runs[run.id] = run
        self.poke()
        return run

    async def update(self, run: CampaignRun, parsed: ParsedDocument) -> CampaignRun:
        """Replace the document (not while running; not while a list of it is being imported)."""
        async with self._imports:
            return await self._update(run, parsed)

    async def _update(self, run: CampaignRun, parsed: ParsedDocument) -> CampaignRun:
        if run.status == RUNNING:
            raise CampaignProblem(409, "campaign.running", "pause or stop the campaign before changing it")
        if parsed.account != run.account:
            raise DocumentProblem("account", "a campaign cannot move to another account")
        names = {s.name for s in parsed.settings.lists}
        missing = sorted(set(run.lists) - names)
        if missing:
            raise DocumentProblem("lists", f"uploaded lists cannot be left out: {', '.join(missing)}")
        self.check_queue(parsed.account, parsed.queue)
        self.missing_dispositions(parsed)
        await self.configure_dispositions(parsed)
        with self.sql.begin() as conn:
            conn.execute(
                campaigns.update()
                .where(campaigns.c.id == run.id)
                .values(name=parsed.name, queue=parsed.queue, settings=parsed.document)
            )
        run.name, run.queue, run.document, run.settings = (
            parsed.name,
            parsed.queue,
            parsed.document,
            parsed.settings,
        )
        self._build(run, None, old=run.campaign)
        self._save([run])
        self.poke()
        return run

    def delete(self, run: CampaignRun) -> None:
        if run.status == RUNNING or run.ringing or any(c.campaign == run.id for c in self._calls.values()):
            raise CampaignProblem(
                409, "campaign.busy", "stop the campaign and let its calls end before deleting it"
            )
        with self.sql.begin() as conn:
            conn.execute(campaign_lists.delete().where(campaign_lists.c.campaign == run.id))
            conn.execute(campaign_positions.delete().where(campaign_positions.c.campaign == run.id))
            conn.execute(campaigns.delete().where(campaigns.c.id == run.id))
        self.runs.pop(run.id, None)
        self.poke()

    def set_status(self, run: CampaignRun, status: str) -> None:
        if status not in STATUSES:
            raise ValueError(status)
        if status == RUNNING:
            if run.broken:
                raise CampaignProblem(409, "campaign.broken", f"the campaign cannot run: {run.broken}")
            if run.settings.mode is CampaignMode.PREVIEW:
                raise CampaignProblem(
                    409, "campaign.mode", "preview campaigns are not dialled by the live dialer yet"
                )
            if self.trunk is None:
                raise CampaignProblem(409, "campaign.no_trunk", "no trunk is configured for outbound calls")
            if run.campaign is None:
                raise CampaignProblem(409, "campaign.no_lists", "upload a contact list first")
            if run.queue not in self.engine.queues:
                raise CampaignProblem(409, "campaign.queue", f"queue {run.queue!r} does not exist any more")
        if status == run.status:
            return
        with self.sql.begin() as conn:
            conn.execute(campaigns.update().where(campaigns.c.id == run.id).values(status=status))
        if status == RUNNING:
            run.shift_started = self.clock()
        run.status = status
        self.poke()
        self.wake()

    async def import_list(
        self,
        run: CampaignRun,
        name: str,
        filename: str,
        data: bytes,
        *,
        mapping: dict[str, Any] | None,
        region: str | None,
        sheet: str | None = None,
        encoding: str | None = None,
        delimiter: str | None = None,
        strict: bool = False,
    ) -> UploadedList:
        """Import an uploaded CSV/XLSX file as list ``name`` of the campaign (see the API docs).

        Imports run one at a time, so a number is never accepted into two lists of a campaign.
        """
        async with self._imports:
            return await self._import_list(
                run,
                name,
                filename,
                data,
                mapping=mapping,
                region=region,
                sheet=sheet,
                encoding=encoding,
                delimiter=delimiter,
                strict=strict,
            )

    async def _import_list(
        self,
        run: CampaignRun,
        name: str,
        filename: str,
        data: bytes,
        *,
        mapping: dict[str, Any] | None,
        region: str | None,
        sheet: str | None,
        encoding: str | None,
        delimiter: str | None,
        strict: bool,
    ) -> UploadedList:
        if run.broken:
            raise CampaignProblem(409, "campaign.broken", f"the campaign cannot take lists: {run.broken}")
        if name in run.lists:
            raise CampaignProblem(
                409, "list.exists", f"the campaign has a list {name!r} already; upload under a new name"
            )
        lists = [dict(s) for s in run.document.get("lists", []) if isinstance(s, dict)]
        declared = next((s for s in lists if s.get("name") == name), None)
        if declared is None:
            if mapping is None:
                raise DocumentProblem(
                    "mapping", f"the campaign declares no list {name!r}; give its column mapping"
                )
            declared = {"name": name, "file": UPLOADED}
            lists.append(declared)
        if mapping is not None:
            declared["map"] = mapping
        if region is not None:
            declared["region"] = region
        if not _matches_id(name):
            raise DocumentProblem("name", "expected 1–64 letters, digits, '_', '.' or '-' (no spaces)")
        parsed = parse_document(
            {**run.document, "lists": lists, "account": run.account, "queue": run.queue}, campaign_id=run.id
        )
        source = next(s for s in parsed.settings.lists if s.name == name)
        others = {c.phone: f"list {other.name}" for other in run.lists.values() for c in other.contacts}
        importer = ListImporter(
            source.mapping, default_region=source.region, strict=strict, campaign_numbers=others
        )
        suffix = Path(filename).suffix.lower()
        xlsx = suffix in (".xlsx", ".xlsm") or (suffix != ".csv" and data[:2] == b"PK")
        shown = Path(filename).name or ("upload.xlsx" if xlsx else "upload.csv")

        def work() -> ImportResult:
            with tempfile.TemporaryDirectory(prefix="centrale-list-") as tmp:
                path = Path(tmp) / ("upload.xlsx" if xlsx else "upload.csv")
                path.write_bytes(data)
                try:
                    if xlsx:
                        return importer.import_xlsx(path, sheet=sheet or source.sheet)
                    return importer.import_csv(
                        path, encoding=encoding or source.encoding, delimiter=delimiter or source.delimiter
                    )
                except ListImportError as exc:
                    message = str(exc).replace(str(path), shown)
                    raise ListImportError(shown, message.removeprefix(f"{shown}: "), code=exc.code) from None

        result = await asyncio.to_thread(work)
        if self.runs.get(run.id) is not run:
            raise CampaignProblem(404, "campaign.unknown", f"campaign {run.id!r} was deleted meanwhile")
        uploaded = UploadedList(
            name,
            shown,
            source.region,
            {k: list(v) if len(v) > 1 else v[0] for k, v in source.mapping.columns.items()},
            result.rows,
            result.accepted,
            result.rejected,
            [_issue_json(i) for i in result.issues],
            result.contacts,
            self.clock(),
        )
        with self.sql.begin() as conn:
            conn.execute(
                campaign_lists.insert().values(
                    campaign=run.id,
                    name=name,
                    filename=uploaded.filename,
                    mapping=uploaded.mapping,
                    region=uploaded.region,
                    rows=uploaded.rows,
                    accepted=uploaded.accepted,
                    rejected=uploaded.rejected,
                    contacts=[contact_to_json(c) for c in uploaded.contacts],
                    issues=uploaded.issues,
                    created=uploaded.created,
                )
            )
            conn.execute(campaigns.update().where(campaigns.c.id == run.id).values(settings=parsed.document))
        run.document, run.settings = parsed.document, parsed.settings
        run.lists[name] = uploaded
        self._build(run, None, old=run.campaign)
        self._save([run])
        self.poke()
        return uploaded

    # --- do-not-call ------------------------------------------------------------------------------------
    def add_dnc(self, number: str, scope: str, source: str) -> dict[str, Any]:
        now = self.clock()
        row = {"number": number, "scope": scope, "source": source, "created": now}
        try:
            with self.sql.begin() as conn:
                conn.execute(dnc_entries.insert().values(**row))
        except sa.exc.IntegrityError:
            raise CampaignProblem(409, "dnc.exists", f"{number} is on the {scope} list already") from None
        self.compliance.dnc.add(number, dnc_scope(scope), _dt(now), reason="do-not-call list", source=source)
        return row

    def remove_dnc(self, number: str, scope: str) -> bool:
        with self.sql.begin() as conn:
            gone = conn.execute(
                dnc_entries.delete().where(dnc_entries.c.number == number, dnc_entries.c.scope == scope)
            ).rowcount
        if gone:
            self._load_dnc()  # the registry only adds; rebuild it from the table
        return bool(gone)

    def dnc_account(self, scope: str) -> str | None:
        """The account a scope's entries belong to (None: the whole center)."""
        if scope == GLOBAL_SCOPE:
            return None
        if scope.startswith("campaign:"):
            run = self.runs.get(scope.removeprefix("campaign:"))
            return run.account if run is not None else None
        return scope

    def dnc_rows(self, number: str | None = None) -> list[dict[str, Any]]:
        stmt = sa.select(dnc_entries).order_by(dnc_entries.c.created, dnc_entries.c.number)
        if number is not None:
            stmt = stmt.where(dnc_entries.c.number == number)
        with self.sql.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]


def lead_rows(run: CampaignRun, status: str | None, limit: int, offset: int = 0) -> list[dict[str, Any]]:
    campaign = run.campaign
    if campaign is None:
        return []
    out = []
    for lead in campaign.leads.values():
        if status is not None and lead.status.value != status:
            continue
        out.append(
            {
                "id": lead.id,
                "list": lead.list_name,
                "row": lead.contact.row,
                "phone": lead.contact.phone,
                "status": lead.status.value,
                "attempts": lead.total_attempts,
                "last_attempt_at": _iso(lead.last_attempt_at),
                "last_outcome": lead.last_outcome,
                "disposition": lead.disposition,
                "due_at": _iso(lead.due_at),
                "reason": lead.reason,
                "callback_at": _iso(lead.callback.at) if lead.callback is not None else None,
                "answers": dict(lead.answers),  # an agentless survey's: question id → meaning
            }
        )
    return out[offset : offset + limit]
