"""A campaign's settings: typed, validated, loadable from YAML (``examples/outbound/campaign.yaml``).

The YAML shape is checked with pydantic (unknown keys, types, ranges), then semantically (a script
placeholder must name a field the lists provide, agentless settings only in agentless mode …).
Every problem raises :class:`~centrale.outbound.campaign_errors.CampaignConfigError` reading
``file: field: problem``, as scenario files do; the CLI prints it in one line and exits with 2.
Paths of list files are relative to the settings file.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from centrale.core.config import Disposition
from centrale.outbound.answering_machine import AnsweringMachine, MachineAction
from centrale.outbound.campaign_errors import CampaignConfigError
from centrale.outbound.dispositions import DispositionCategory
from centrale.outbound.dnc import DncLevel
from centrale.outbound.errors import ComplianceConfigError
from centrale.outbound.fields import known_fields
from centrale.outbound.form import FieldType, Form, FormField
from centrale.outbound.leads import LeadOrder, OrderBy
from centrale.outbound.lists import ImportResult, ListImporter
from centrale.outbound.mapping import ColumnMapping
from centrale.outbound.pacing import (
    AdaptMode,
    FixedRatio,
    PacingPolicy,
    Predictive,
    Progressive,
    VicidialStyle,
)
from centrale.outbound.retry import DEFAULT_RULES, Recycling, RetryKind, RetryRule, RetryRules
from centrale.outbound.script import Script
from centrale.outbound.settings import CampaignCompliance, DialingMode, campaign_from_mapping
from centrale.outbound.survey import AgentlessPlan, Survey, SurveyQuestion
from centrale.outbound.targets import Targets
from centrale.units import parse_duration
from centrale.validation import FileProblem, keys_at, read_yaml


class CampaignMode(StrEnum):
    PREVIEW = "preview"
    """The agent sees the lead first and starts the call."""
    PROGRESSIVE = "progressive"
    """One call per free agent, dialled by the system."""
    PREDICTIVE = "predictive"
    """More calls than free agents, paced by a policy of :mod:`centrale.outbound.pacing`."""
    AGENTLESS = "agentless"
    """A recorded message or a keypad survey; no agent."""


class PreviewTimeout(StrEnum):
    RETURN = "return"
    """The lead goes back to the queue; the agent gets another."""
    DIAL = "dial"
    """The call is placed for the agent automatically."""


PACING_POLICIES = ("progressive", "predictive", "vicidial", "vicidial_tapered", "ratio:<lines per agent>")


def pacing_policy(name: str) -> PacingPolicy:
    """A fresh pacing policy by name (one of :data:`PACING_POLICIES`)."""
    if name == "progressive":
        return Progressive()
    if name == "predictive":
        return Predictive()
    if name == "vicidial":
        return VicidialStyle(mode=AdaptMode.HARD_LIMIT)
    if name == "vicidial_tapered":
        return VicidialStyle(mode=AdaptMode.TAPERED)
    if name.startswith("ratio:"):
        try:
            ratio = float(name.removeprefix("ratio:"))
        except ValueError:
            ratio = 0.0
        if ratio >= 1.0:
            return FixedRatio(ratio)
        raise ValueError(f"ratio:<x> needs a number of lines per agent ≥ 1, got {name!r}")
    raise ValueError(f"unknown pacing policy {name!r}; expected one of {', '.join(PACING_POLICIES)}")


@dataclass(frozen=True, slots=True)
class ListSource:
    """One contact list of the campaign and its share of the dials."""

    name: str
    mapping: ColumnMapping
    weight: float = 1.0
    path: Path | None = None
    region: str = "NL"
    encoding: str = "utf-8-sig"
    delimiter: str | None = None
    sheet: str | None = None


@dataclass(frozen=True, slots=True)
class ActivePeriod:
    """When the campaign dials: dates (inclusive) and weekly hours in the campaign's time zone.

    These are the center's own hours; the callee's calling hours are the compliance engine's.
    """

    time_zone: str = "UTC"
    start: date | None = None
    end: date | None = None
    hours: Mapping[int, tuple[time, time]] | None = None
    """Weekday (0 = Monday) → (from, until); ``None``: any hour; a missing weekday: closed."""

    def active(self, now: datetime) -> bool:
        local = now.astimezone(ZoneInfo(self.time_zone))
        day = local.date()
        if (self.start is not None and day < self.start) or (self.end is not None and day > self.end):
            return False
        if self.hours is None:
            return True
        span = self.hours.get(day.weekday())
        return span is not None and span[0] <= local.time() < span[1]


@dataclass(frozen=True)
class CampaignSettings:
    """Everything a :class:`~centrale.outbound.campaign.Campaign` runs on."""

    id: str
    account_id: str
    mode: CampaignMode
    compliance: CampaignCompliance
    lists: tuple[ListSource, ...]
    name: str = ""
    pacing: str = "predictive"
    preview_timeout: timedelta = timedelta(seconds=30)
    on_preview_timeout: PreviewTimeout = PreviewTimeout.RETURN
    agentless: AgentlessPlan | None = None
    lead_order: LeadOrder = field(default_factory=LeadOrder)
    retry: RetryRules = field(default_factory=RetryRules)
    recycling: Recycling | None = None
    blocked_recheck: timedelta = timedelta(minutes=15)
    active: ActivePeriod = field(default_factory=ActivePeriod)
    dispositions: Mapping[str, Disposition] = field(default_factory=lambda: MappingProxyType({}))
    do_not_call_scope: DncLevel = DncLevel.ACCOUNT
    script: Script | None = None
    form: Form | None = None
    targets: Targets = field(default_factory=Targets)
    answering_machine: AnsweringMachine = field(default_factory=AnsweringMachine)
    language: str = "en"
    """The language a text message is spoken in (``nl`` or ``en``): agentless messages and messages
    left on answering machines (a recording is played as it is)."""

    @property
    def custom_fields(self) -> tuple[str, ...]:
        """Custom contact fields any list provides (for scripts and the results export)."""
        names: dict[str, None] = {}
        for source in self.lists:
            names.update(dict.fromkeys(source.mapping.custom_fields))
        return tuple(names)

    @property
    def time_zone(self) -> ZoneInfo:
        return ZoneInfo(self.active.time_zone)


# --- the YAML shape -----------------------------------------------------------------------------------

Duration = str | float | int


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _CampaignSpec(_Model):
    id: str = Field(min_length=1)
    account: str = Field(min_length=1)
    name: str = ""


class _PreviewSpec(_Model):
    timeout: Duration = 30
    on_timeout: PreviewTimeout = PreviewTimeout.RETURN


class _QuestionSpec(_Model):
    id: str = Field(min_length=1)
    prompt: str
    keys: dict[str, str]


class _AgentlessSpec(_Model):
    message: str = ""
    survey: list[_QuestionSpec] = []
    max_lines: int = Field(10, ge=1)


class _ListSpec(_Model):
    name: str = Field(min_length=1)
    file: str
    map: dict[str, str | list[str]]
    weight: float = Field(1.0, gt=0)
    region: str = "NL"
    encoding: str = "utf-8-sig"
    delimiter: str | None = None
    sheet: str | None = None


class _OrderSpec(_Model):
    by: OrderBy = OrderBy.LIST_ORDER
    field: str | None = None
    local_hours: tuple[str, str] = ("09:00", "21:00")


class _RuleSpec(_Model):
    delay: Duration
    max_attempts: int = Field(ge=1)


class _RetrySpec(_Model):
    max_attempts: int = Field(6, ge=1)
    no_answer: _RuleSpec | None = None
    busy: _RuleSpec | None = None
    machine: _RuleSpec | None = None
    failed: _RuleSpec | None = None
    abandoned: _RuleSpec | None = None
    callback: _RuleSpec | None = None


class _RecycleSpec(_Model):
    after_days: float = Field(gt=0)
    max_cycles: int = Field(1, ge=1)


class _ActiveSpec(_Model):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    time_zone: str = "UTC"
    from_: date | None = Field(None, alias="from")
    until: date | None = None
    hours: dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], tuple[str, str] | None] | None = (
        None
    )


class _DispositionSpec(_Model):
    code: str = Field(min_length=1)
    label: str = ""
    category: DispositionCategory


class _ScriptSpec(_Model):
    text: str
    defaults: dict[str, str] = {}


class _FormFieldSpec(_Model):
    name: str = Field(min_length=1)
    type: FieldType
    label: str = ""
    required: bool = False
    min: float | date | None = None
    max: float | date | None = None
    pattern: str | None = None
    choices: list[str] = []
    region: str = "NL"


class _FormSpec(_Model):
    name: str = "form"
    fields: list[_FormFieldSpec] = Field(min_length=1)


class _TargetsSpec(_Model):
    sales_per_agent_per_week: int | None = Field(None, ge=1)
    conversion_rate: float | None = Field(None, gt=0, le=1)


class _MachineSpec(_Model):
    action: MachineAction = MachineAction.HANG_UP
    message: str | None = None
    retry: bool | None = None


class _SettingsSpec(_Model):
    campaign: _CampaignSpec
    mode: CampaignMode
    pacing: str | None = None
    caller_id: str | None = None
    ring_timeout: Duration = 20
    preview: _PreviewSpec | None = None
    agentless: _AgentlessSpec | None = None
    lists: list[_ListSpec] = Field(min_length=1)
    lead_order: _OrderSpec = _OrderSpec()
    retry: _RetrySpec = _RetrySpec()
    recycle: _RecycleSpec | None = None
    blocked_recheck: Duration = "15m"
    active: _ActiveSpec = _ActiveSpec()
    compliance: dict[str, Any]
    dispositions: list[_DispositionSpec] = []
    do_not_call_scope: Literal["global", "account", "campaign"] = "account"
    script: _ScriptSpec | None = None
    form: _FormSpec | None = None
    targets: _TargetsSpec = _TargetsSpec()
    answering_machine: _MachineSpec = _MachineSpec()
    language: Literal["nl", "en"] | None = None


# --- loading ------------------------------------------------------------------------------------------


def load_campaign(path: str | os.PathLike[str]) -> CampaignSettings:
    """Read and check a campaign settings file."""
    p = Path(path)
    source = str(path)
    try:
        data = read_yaml(p)
    except FileProblem as exc:
        raise CampaignConfigError(source, exc.where, exc.problem) from None
    return campaign_settings_from_dict(data, source=source, base_dir=p.parent)


def campaign_settings_from_dict(
    data: object, *, source: str = "<campaign>", base_dir: Path | None = None
) -> CampaignSettings:
    """Check parsed YAML (or a dict built in code) and build the settings."""
    if not isinstance(data, dict):
        raise CampaignConfigError(
            source, "", "campaign settings must be a mapping (key: value) at the top level"
        )
    try:
        spec = _SettingsSpec.model_validate(data)
    except ValidationError as exc:
        raise _from_validation(exc, source) from None
    return _Builder(spec, source, base_dir or Path(".")).build()


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and (part in {"str", "float", "int", "date", "list[str]"} or "[" in part):
            continue  # pydantic's name of a union member, not a key of the file
        else:
            out += ("." if out else "") + ("from" if part == "from_" else str(part))
    return out


def _from_validation(exc: ValidationError, source: str) -> CampaignConfigError:
    errors = exc.errors()
    # A misspelt key also makes the key it was meant to be "missing": report the typo, the cause.
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = tuple(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        close = difflib.get_close_matches(key, _keys_at(loc[:-1]), n=1, cutoff=0.7)
        problem = f"unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close else " (a typo?)")
        return CampaignConfigError(source, _loc(loc[:-1]) or "top level", problem)
    if kind == "missing":
        return CampaignConfigError(source, _loc(loc), "this field is required")
    problem = str(err["msg"]).removeprefix("Value error, ")
    if "input" in err and not isinstance(err["input"], dict | list):
        problem += f" (got {err['input']!r})"
    return CampaignConfigError(source, _loc(loc), problem)


def _keys_at(loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed at a place in the file (to suggest a correction for a typo)."""
    return keys_at(_SettingsSpec, loc)


_WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
# The campaign sets these in the compliance settings itself, so they cannot disagree.
_COMPLIANCE_OWNED = ("campaign_id", "account_id", "caller_id", "dialing_mode", "ring_timeout_seconds")


class _Builder:
    def __init__(self, spec: _SettingsSpec, source: str, base_dir: Path) -> None:
        self.spec = spec
        self.source = source
        self.base_dir = base_dir

    def fail(self, where: str, problem: str) -> CampaignConfigError:
        return CampaignConfigError(self.source, where, problem)

    def duration(self, value: Duration, where: str) -> timedelta:
        try:
            return timedelta(seconds=parse_duration(value))
        except ValueError as exc:
            raise self.fail(where, str(exc)) from None

    def clock(self, text: str, where: str) -> time:
        try:
            return time.fromisoformat(text)
        except ValueError:
            raise self.fail(where, f"expected a time of day such as 09:00, got {text!r}") from None

    def build(self) -> CampaignSettings:
        s = self.spec
        mode = s.mode
        lists = self.lists()
        known = known_fields(name for source in lists for name in source.mapping.custom_fields)
        known |= {"agent_name", "campaign_name"}
        return CampaignSettings(
            id=s.campaign.id,
            account_id=s.campaign.account,
            name=s.campaign.name,
            mode=mode,
            compliance=self.compliance(),
            lists=lists,
            pacing=self.pacing(),
            preview_timeout=self.duration(s.preview.timeout, "preview.timeout")
            if s.preview
            else timedelta(seconds=30),
            on_preview_timeout=s.preview.on_timeout if s.preview else PreviewTimeout.RETURN,
            agentless=self.agentless(),
            lead_order=self.lead_order(known),
            retry=self.retry(),
            recycling=self.recycling(),
            blocked_recheck=self.positive(s.blocked_recheck, "blocked_recheck"),
            active=self.active(),
            dispositions=self.dispositions(),
            do_not_call_scope=DncLevel(s.do_not_call_scope),
            script=self.script(known),
            form=self.form(),
            targets=Targets(s.targets.sales_per_agent_per_week, s.targets.conversion_rate),
            answering_machine=self.answering_machine(),
            language=self.language(),
        )

    def language(self) -> str:
        """The campaign's ``language``, by default the preset country's (Dutch for nl, else English)."""
        if self.spec.language is not None:
            return self.spec.language
        return "nl" if str(self.spec.compliance.get("preset", "")).lower() == "nl" else "en"

    def positive(self, value: Duration, where: str) -> timedelta:
        delta = self.duration(value, where)
        if delta <= timedelta(0):
            raise self.fail(where, "must be longer than zero")
        return delta

    def lists(self) -> tuple[ListSource, ...]:
        out: list[ListSource] = []
        seen: set[str] = set()
        for i, spec in enumerate(self.spec.lists):
            where = f"lists[{i}]"
            if spec.name in seen:
                raise self.fail(f"{where}.name", f"list name {spec.name!r} is used twice")
            seen.add(spec.name)
            if spec.region.upper() not in phonenumbers.SUPPORTED_REGIONS:
                raise self.fail(
                    f"{where}.region", f"unknown region {spec.region!r}; expected an ISO code such as NL"
                )
            try:
                mapping = ColumnMapping.from_dict(spec.map)
            except ValueError as exc:
                raise self.fail(f"{where}.map", str(exc)) from None
            out.append(
                ListSource(
                    spec.name,
                    mapping,
                    spec.weight,
                    self.base_dir / spec.file,
                    spec.region.upper(),
                    spec.encoding,
                    spec.delimiter,
                    spec.sheet,
                )
            )
        return tuple(out)

    def pacing(self) -> str:
        s = self.spec
        if s.pacing is not None and s.mode is not CampaignMode.PREDICTIVE:
            raise self.fail(
                "pacing", f"only predictive campaigns choose a pacing policy (mode is {s.mode.value})"
            )
        name = s.pacing or ("predictive" if s.mode is CampaignMode.PREDICTIVE else "progressive")
        try:
            pacing_policy(name)
        except ValueError as exc:
            raise self.fail("pacing", str(exc)) from None
        return name

    def agentless(self) -> AgentlessPlan | None:
        s = self.spec
        if s.mode is not CampaignMode.AGENTLESS:
            if s.agentless is not None:
                raise self.fail("agentless", f"only for mode agentless (mode is {s.mode.value})")
            if s.preview is not None and s.mode is not CampaignMode.PREVIEW:
                raise self.fail("preview", f"only for mode preview (mode is {s.mode.value})")
            return None
        if s.agentless is None:
            raise self.fail("agentless", "an agentless campaign needs a message or a survey")
        spec = s.agentless
        questions = []
        for i, q in enumerate(spec.survey):
            try:
                questions.append(SurveyQuestion(q.id, q.prompt, MappingProxyType(dict(q.keys))))
            except ValueError as exc:
                raise self.fail(f"agentless.survey[{i}]", str(exc)) from None
        try:
            survey = Survey(tuple(questions)) if questions else None
            return AgentlessPlan(spec.message, survey, spec.max_lines)
        except ValueError as exc:
            raise self.fail("agentless", str(exc)) from None

    def lead_order(self, known: frozenset[str]) -> LeadOrder:
        spec = self.spec.lead_order
        if spec.field is not None and spec.field not in known:
            raise self.fail(
                "lead_order.field", f"unknown field {spec.field!r}; known: {', '.join(sorted(known))}"
            )
        hours = (
            self.clock(spec.local_hours[0], "lead_order.local_hours"),
            self.clock(spec.local_hours[1], "lead_order.local_hours"),
        )
        try:
            return LeadOrder(spec.by, spec.field, hours)
        except ValueError as exc:
            raise self.fail("lead_order", str(exc)) from None

    def retry(self) -> RetryRules:
        spec = self.spec.retry
        rules = {}
        for kind in RetryKind:
            rule = getattr(spec, kind.value)
            if rule is None:
                rules[kind] = DEFAULT_RULES[kind]
            else:
                rules[kind] = RetryRule(
                    self.duration(rule.delay, f"retry.{kind.value}.delay"), rule.max_attempts
                )
        return RetryRules(spec.max_attempts, MappingProxyType(rules))

    def answering_machine(self) -> AnsweringMachine:
        s = self.spec
        spec = s.answering_machine
        action = spec.action
        if action is not MachineAction.LEAVE_MESSAGE:
            for key in ("message", "retry"):
                if getattr(spec, key) is not None:
                    raise self.fail(
                        f"answering_machine.{key}",
                        f"only for action leave_message (action is {action.value})",
                    )
        if action is MachineAction.PASS_TO_AGENT and s.mode is CampaignMode.AGENTLESS:
            raise self.fail(
                "answering_machine.action", "pass_to_agent needs agents; an agentless campaign has none"
            )
        if action is MachineAction.LEAVE_MESSAGE and not (spec.message or "").strip():
            raise self.fail(
                "answering_machine.message",
                "action leave_message needs the message to play "
                "(its text, or the file name of the recording)",
            )
        return AnsweringMachine(action, (spec.message or "").strip(), bool(spec.retry))

    def recycling(self) -> Recycling | None:
        spec = self.spec.recycle
        return None if spec is None else Recycling(timedelta(days=spec.after_days), spec.max_cycles)

    def active(self) -> ActivePeriod:
        spec = self.spec.active
        try:
            ZoneInfo(spec.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail(
                "active.time_zone", f"unknown time zone {spec.time_zone!r} (an IANA name)"
            ) from None
        if spec.from_ is not None and spec.until is not None and spec.until < spec.from_:
            raise self.fail("active.until", "ends before the campaign starts")
        hours: dict[int, tuple[time, time]] | None = None
        if spec.hours is not None:
            hours = {}
            for day, span in spec.hours.items():
                if span is None:
                    continue
                where = f"active.hours.{day}"
                start, end = self.clock(span[0], where), self.clock(span[1], where)
                if start >= end:
                    raise self.fail(where, "the hours must start before they end")
                hours[_WEEKDAYS[day]] = (start, end)
        return ActivePeriod(
            spec.time_zone, spec.from_, spec.until, MappingProxyType(hours) if hours is not None else None
        )

    def compliance(self) -> CampaignCompliance:
        s = self.spec
        for key in _COMPLIANCE_OWNED:
            if key in s.compliance:
                raise self.fail(f"compliance.{key}", "set by the campaign itself; remove it here")
        ring = self.positive(s.ring_timeout, "ring_timeout")
        # Agentless calls answer with the message at once, so no caller waits for an agent; for
        # the compliance engine they are paced like predictive calls with the "agent" guaranteed
        # (the campaign passes agent_reserved=True).
        dialing = {
            CampaignMode.PREVIEW: DialingMode.PREVIEW,
            CampaignMode.PROGRESSIVE: DialingMode.PROGRESSIVE,
            CampaignMode.PREDICTIVE: DialingMode.PREDICTIVE,
            CampaignMode.AGENTLESS: DialingMode.PREDICTIVE,
        }[s.mode]
        data = {
            **s.compliance,
            "campaign_id": s.campaign.id,
            "account_id": s.campaign.account,
            "caller_id": s.caller_id,
            "dialing_mode": dialing.value,
            "ring_timeout_seconds": ring.total_seconds(),
        }
        try:
            return campaign_from_mapping(data, "compliance")
        except ComplianceConfigError as exc:
            message = str(exc)
            where, _, problem = message.partition(": ")
            if where != "compliance" or not problem:
                where, problem = "compliance", message
            raise self.fail(where, problem) from None

    def dispositions(self) -> Mapping[str, Disposition]:
        s = self.spec
        out: dict[str, Disposition] = {}
        for i, spec in enumerate(s.dispositions):
            if spec.code in out:
                raise self.fail(f"dispositions[{i}].code", f"disposition {spec.code!r} is defined twice")
            out[spec.code] = Disposition(
                spec.code, spec.label or spec.code, spec.category.value, s.campaign.account
            )
        if s.mode is not CampaignMode.AGENTLESS:
            categories = {d.category for d in out.values()}
            if DispositionCategory.DO_NOT_CALL.value not in categories:
                raise self.fail(
                    "dispositions",
                    "no disposition has category do_not_call; agents must be able to record an objection",
                )
        return MappingProxyType(out)

    def script(self, known: frozenset[str]) -> Script | None:
        spec = self.spec.script
        if spec is None:
            return None
        try:
            return Script.parse(spec.text, known, spec.defaults)
        except ValueError as exc:
            raise self.fail("script", str(exc)) from None

    def form(self) -> Form | None:
        spec = self.spec.form
        if spec is None:
            return None
        fields = []
        for i, f in enumerate(spec.fields):
            try:
                fields.append(
                    FormField(
                        f.name,
                        f.type,
                        f.label,
                        f.required,
                        _bound(f.min, f.type),
                        _bound(f.max, f.type),
                        f.pattern,
                        tuple(f.choices),
                        f.region.upper(),
                    )
                )
            except ValueError as exc:
                raise self.fail(f"form.fields[{i}]", str(exc)) from None
        try:
            return Form(spec.name, tuple(fields))
        except ValueError as exc:
            raise self.fail("form.fields", str(exc)) from None


def _bound(value: float | date | None, kind: FieldType) -> Any:
    if value is None or isinstance(value, date):
        return value
    if kind is FieldType.DATE:
        return value  # FormField rejects a number as a date bound with a clear message
    return Decimal(int(value)) if float(value).is_integer() else Decimal(str(value))


def import_lists(settings: CampaignSettings) -> dict[str, ImportResult]:
    """Import every list of the campaign from its file (I/O), in the order of the settings.

    A number already in an earlier list is rejected as ``duplicate_in_campaign`` naming that
    list, so one person is never two leads. Raises ``ListImportError`` for a file that cannot be
    read at all.
    """
    seen: dict[str, str] = {}
    out: dict[str, ImportResult] = {}
    for source in settings.lists:
        if source.path is None:
            raise ValueError(f"list {source.name!r} has no file")
        importer = ListImporter(source.mapping, default_region=source.region, campaign_numbers=dict(seen))
        if source.path.suffix.lower() in {".xlsx", ".xlsm"}:
            result = importer.import_xlsx(source.path, sheet=source.sheet)
        else:
            result = importer.import_csv(source.path, encoding=source.encoding, delimiter=source.delimiter)
        for contact in result.contacts:
            seen.setdefault(contact.phone, f"list {source.name}")
        out[source.name] = result
    return out
