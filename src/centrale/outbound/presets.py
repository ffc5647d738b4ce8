"""Jurisdiction presets: the rules a campaign must satisfy, as data files citing their legal source.

The built-in presets live in ``presets/{nl,uk,us}.yaml`` next to this module. A preset lists rules;
each rule has a stable ``id``, a ``kind`` the engine knows how to check, the ``source`` it
implements and optional ``params``. Loading validates everything up front so that evaluating a
dial never meets a malformed preset.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from centrale.outbound.errors import ComplianceConfigError

RULE_KINDS = frozenset(
    {
        "do_not_call",
        "consent",
        "caller_id",
        "calling_hours",
        "abandon_rate",
        "abandoned_repeat",
        "ring_time",
        "obligation",
    }
)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
OBLIGATIONS = frozenset({"information_message_on_abandon", "offer_right_to_object"})


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One rule of a preset, with the parameters in force (after campaign overrides)."""

    id: str
    kind: str
    source: str
    description: str = ""
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    overridden: tuple[str, ...] = ()
    """Names of the parameters a campaign changed, recorded in decisions for the audit trail."""


@dataclass(frozen=True, slots=True)
class Preset:
    """A named set of rules for one jurisdiction."""

    id: str
    name: str
    jurisdiction: str
    rules: tuple[RuleSpec, ...]
    holiday_country: str | None = None
    holiday_subdivision: str | None = None

    def rule(self, rule_id: str) -> RuleSpec:
        """The rule with ``rule_id``; raises :class:`KeyError` if the preset has none."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


# -- parameter parsing (shared with campaign overrides) -------------------------------------------------


def parse_clock(text: object, where: str) -> time:
    """``"09:00"`` → :class:`datetime.time`; ``"24:00"`` means the end of the day."""
    if not isinstance(text, str):
        raise ComplianceConfigError(f"{where}: expected a time such as '09:00', got {text!r}")
    if text.strip() == "24:00":
        return time.max
    try:
        return time.fromisoformat(text.strip())
    except ValueError:
        raise ComplianceConfigError(f"{where}: expected a time such as '09:00', got {text!r}") from None


def parse_date(value: object, where: str) -> date:
    """A YAML date or an ISO ``YYYY-MM-DD`` string."""
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ComplianceConfigError(f"{where}: expected a date such as 2026-05-04, got {value!r}")


def _check_number(params: Mapping[str, Any], key: str, where: str, *, low: float, high: float) -> None:
    if key not in params:
        raise ComplianceConfigError(f"{where}: missing parameter {key!r}")
    value = params[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ComplianceConfigError(f"{where}: {key} must be a number in [{low}, {high}], got {value!r}")


def validate_params(kind: str, params: Mapping[str, Any], where: str) -> None:
    """Raise :class:`ComplianceConfigError` unless ``params`` suit a rule of ``kind``."""
    if kind == "calling_hours":
        weekdays = params.get("weekdays")
        if not isinstance(weekdays, Mapping) or set(weekdays) != set(WEEKDAYS):
            raise ComplianceConfigError(f"{where}: weekdays must list {', '.join(WEEKDAYS)} (null = closed)")
        for day, window in weekdays.items():
            if window is None:
                continue
            if not isinstance(window, list) or len(window) != 2:
                raise ComplianceConfigError(f"{where}: weekdays.{day} must be [start, end] or null")
            start, end = (parse_clock(w, f"{where}: weekdays.{day}") for w in window)
            if start >= end:
                raise ComplianceConfigError(f"{where}: weekdays.{day} starts after it ends")
        early = params.get("early_close", {})
        if not isinstance(early, Mapping):
            raise ComplianceConfigError(f"{where}: early_close must map 'MM-DD' to a time")
        for day, end in early.items():
            try:
                date.fromisoformat(f"2000-{day}")
            except (TypeError, ValueError):
                raise ComplianceConfigError(f"{where}: early_close key {day!r} is not 'MM-DD'") from None
            parse_clock(end, f"{where}: early_close.{day}")
        for value in params.get("closed_dates", []) or []:
            parse_date(value, f"{where}: closed_dates")
        if not isinstance(params.get("public_holidays", False), bool):
            raise ComplianceConfigError(f"{where}: public_holidays must be true or false")
    elif kind == "abandon_rate":
        _check_number(params, "max_rate", where, low=0.0, high=1.0)
        _check_number(params, "window_hours", where, low=1e-9, high=24 * 366)
        _check_number(params, "connect_within_seconds", where, low=0.0, high=60.0)
    elif kind == "abandoned_repeat":
        _check_number(params, "hours", where, low=0.0, high=24 * 366)
    elif kind == "ring_time":
        _check_number(params, "min_seconds", where, low=0.0, high=300.0)
    elif kind == "consent":
        _check_number(params, "customer_relationship_years", where, low=0.0, high=100.0)
        until = params.get("customer_relationship_exception_until")
        if until is not None:
            parse_date(until, f"{where}: customer_relationship_exception_until")
    elif kind == "obligation" and params.get("obligation") not in OBLIGATIONS:
        raise ComplianceConfigError(f"{where}: obligation must be one of {', '.join(sorted(OBLIGATIONS))}")


def parse_preset(data: object, origin: str) -> Preset:
    """Build a :class:`Preset` from parsed YAML; ``origin`` names the file in error messages."""
    if not isinstance(data, Mapping):
        raise ComplianceConfigError(f"{origin}: a preset must be a mapping")
    try:
        preset_id, name, jurisdiction, raw_rules = (
            data["id"],
            data["name"],
            data["jurisdiction"],
            data["rules"],
        )
    except KeyError as exc:
        raise ComplianceConfigError(f"{origin}: missing key {exc.args[0]!r}") from None
    if not isinstance(raw_rules, list) or not raw_rules:
        raise ComplianceConfigError(f"{origin}: rules must be a non-empty list")
    rules: list[RuleSpec] = []
    for index, raw in enumerate(raw_rules):
        where = f"{origin}: rules[{index}]"
        if not isinstance(raw, Mapping) or not {"id", "kind", "source"} <= set(raw):
            raise ComplianceConfigError(f"{where}: each rule needs id, kind and source")
        if raw["kind"] not in RULE_KINDS:
            raise ComplianceConfigError(f"{where}: unknown kind {raw['kind']!r}")
        params = raw.get("params") or {}
        if not isinstance(params, Mapping):
            raise ComplianceConfigError(f"{where}: params must be a mapping")
        validate_params(str(raw["kind"]), params, f"{where} ({raw['id']})")
        rules.append(
            RuleSpec(
                str(raw["id"]),
                str(raw["kind"]),
                str(raw["source"]),
                str(raw.get("description", "")),
                MappingProxyType(dict(params)),
            )
        )
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise ComplianceConfigError(f"{origin}: rule ids must be unique")
    # A preset without a do-not-call rule could let an objection be ignored: refuse it.
    if sum(r.kind == "do_not_call" for r in rules) != 1:
        raise ComplianceConfigError(f"{origin}: a preset needs exactly one do_not_call rule")
    holidays_cfg = data.get("holidays") or {}
    if not isinstance(holidays_cfg, Mapping):
        raise ComplianceConfigError(f"{origin}: holidays must be a mapping such as {{country: NL}}")
    country = holidays_cfg.get("country")
    subdivision = holidays_cfg.get("subdivision")
    return Preset(
        str(preset_id),
        str(name),
        str(jurisdiction),
        tuple(rules),
        None if country is None else str(country),
        None if subdivision is None else str(subdivision),
    )


def builtin_presets() -> tuple[str, ...]:
    """Ids of the presets shipped with centrale."""
    folder = resources.files("centrale.outbound") / "presets"
    return tuple(sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml")))


def load_preset(name_or_path: str | os.PathLike[str]) -> Preset:
    """Load a built-in preset by id (``"nl"``, ``"uk"``, ``"us"``) or a preset file by path."""
    text: str
    origin = str(name_or_path)
    if isinstance(name_or_path, str) and name_or_path in builtin_presets():
        resource = resources.files("centrale.outbound") / "presets" / f"{name_or_path}.yaml"
        text = resource.read_text(encoding="utf-8")
        origin = f"preset {name_or_path}"
    else:
        path = Path(name_or_path)
        if not path.is_file():
            known = ", ".join(builtin_presets())
            raise ComplianceConfigError(
                f"unknown preset {origin!r}: not a built-in preset ({known}) nor a file",
                code="unknown_preset",
            )
        text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ComplianceConfigError(f"{origin}: not valid YAML: {exc}") from None
    return parse_preset(data, origin)
