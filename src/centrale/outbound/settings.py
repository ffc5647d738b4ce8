"""A campaign's compliance settings: preset, overrides, caps, blackout dates, dialling facts."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from centrale.outbound.errors import ComplianceConfigError
from centrale.outbound.presets import Preset, RuleSpec, load_preset, parse_date, validate_params


class DialingMode(StrEnum):
    """How the dialer paces calls; only predictive dialling can abandon calls."""

    PREDICTIVE = "predictive"
    PROGRESSIVE = "progressive"
    """One call per free agent: an agent is reserved before dialling."""
    PREVIEW = "preview"
    """The agent sees the contact first and starts the call."""


class CapScope(StrEnum):
    """Which attempts a frequency cap counts."""

    CAMPAIGN = "campaign"
    ACCOUNT = "account"
    """Attempts by every campaign of the account: a consumer does not care which campaign called."""


@dataclass(frozen=True, slots=True)
class FrequencyCap:
    """At most ``max_attempts`` attempts to one number within any ``days`` days."""

    max_attempts: int
    days: float
    scope: CapScope = CapScope.CAMPAIGN

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.days <= 0:
            raise ComplianceConfigError("a frequency cap needs max_attempts ≥ 1 and days > 0")


@dataclass(frozen=True)
class CampaignCompliance:
    """Everything the compliance engine needs to know about one campaign.

    ``overrides`` maps a rule id of the preset to parameter changes; rules cannot be removed.
    ``closed_dates`` are extra days without calls under the calling-hours rule (days of national
    mourning), ``blackout_dates`` are the campaign's own days without calls. Dates are the
    callee's local dates.
    """

    campaign_id: str
    account_id: str
    preset: Preset
    purpose: str = "telemarketing"
    caller_id: str | None = None
    dialing_mode: DialingMode = DialingMode.PREDICTIVE
    ring_timeout_seconds: float = 20.0
    ring_timeout_rings: int | None = None
    max_attempts_per_contact: int | None = None
    frequency_cap: FrequencyCap | None = None
    blackout_dates: frozenset[date] = frozenset()
    closed_dates: frozenset[date] = frozenset()
    abandon_safety_margin: float = 0.005
    amd_false_positive_rate: float = 0.0
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))
    rules: tuple[RuleSpec, ...] = field(init=False)
    """The preset's rules with the overrides applied (computed)."""

    def __post_init__(self) -> None:
        if self.max_attempts_per_contact is not None and self.max_attempts_per_contact < 1:
            raise ComplianceConfigError("max_attempts_per_contact must be at least 1")
        if self.ring_timeout_seconds <= 0:
            raise ComplianceConfigError("ring_timeout_seconds must be positive")
        known = {r.id for r in self.preset.rules}
        unknown = sorted(set(self.overrides) - known)
        if unknown:
            raise ComplianceConfigError(
                f"overrides name rules that preset {self.preset.id!r} does not have: {', '.join(unknown)}"
            )
        rules = []
        for rule in self.preset.rules:
            changes = self.overrides.get(rule.id)
            if changes:
                params = {**rule.params, **changes}
                validate_params(rule.kind, params, f"campaign {self.campaign_id}: override of {rule.id}")
                rule = replace(rule, params=MappingProxyType(params), overridden=tuple(sorted(changes)))
            rules.append(rule)
        object.__setattr__(self, "rules", tuple(rules))


def _as_dates(value: object, where: str) -> frozenset[date]:
    if value is None:
        return frozenset()
    if not isinstance(value, list):
        raise ComplianceConfigError(f"{where} must be a list of dates")
    return frozenset(parse_date(v, where) for v in value)


def campaign_from_mapping(data: object, origin: str = "campaign settings") -> CampaignCompliance:
    """Build settings from parsed YAML/JSON (see ``examples/outbound/campaign-compliance.yaml``)."""
    if not isinstance(data, Mapping):
        raise ComplianceConfigError(f"{origin}: expected a mapping")
    allowed = {
        "campaign_id", "account_id", "preset", "purpose", "caller_id", "dialing_mode",
        "ring_timeout_seconds", "ring_timeout_rings", "max_attempts_per_contact", "frequency_cap",
        "blackout_dates", "closed_dates", "abandon_safety_margin", "amd_false_positive_rate", "overrides",
    }  # fmt: skip
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ComplianceConfigError(f"{origin}: unknown keys {', '.join(unknown)}")
    try:
        cap_data = data.get("frequency_cap")
        cap = None
        if cap_data is not None:
            if not isinstance(cap_data, Mapping):
                raise ComplianceConfigError(f"{origin}: frequency_cap needs max_attempts and days")
            cap = FrequencyCap(
                int(cap_data["max_attempts"]),
                float(cap_data["days"]),
                CapScope(cap_data.get("scope", "campaign")),
            )
        overrides = data.get("overrides") or {}
        if not isinstance(overrides, Mapping) or not all(isinstance(v, Mapping) for v in overrides.values()):
            raise ComplianceConfigError(f"{origin}: overrides must map rule ids to parameter mappings")
        return CampaignCompliance(
            campaign_id=str(data["campaign_id"]),
            account_id=str(data["account_id"]),
            preset=load_preset(str(data["preset"])),
            purpose=str(data.get("purpose", "telemarketing")),
            caller_id=None if data.get("caller_id") is None else str(data["caller_id"]),
            dialing_mode=DialingMode(data.get("dialing_mode", "predictive")),
            ring_timeout_seconds=float(data.get("ring_timeout_seconds", 20.0)),
            ring_timeout_rings=None
            if data.get("ring_timeout_rings") is None
            else int(data["ring_timeout_rings"]),
            max_attempts_per_contact=(
                None
                if data.get("max_attempts_per_contact") is None
                else int(data["max_attempts_per_contact"])
            ),
            frequency_cap=cap,
            blackout_dates=_as_dates(data.get("blackout_dates"), f"{origin}: blackout_dates"),
            closed_dates=_as_dates(data.get("closed_dates"), f"{origin}: closed_dates"),
            abandon_safety_margin=float(data.get("abandon_safety_margin", 0.005)),
            amd_false_positive_rate=float(data.get("amd_false_positive_rate", 0.0)),
            overrides=MappingProxyType({str(k): MappingProxyType(dict(v)) for k, v in overrides.items()}),
        )
    except KeyError as exc:
        raise ComplianceConfigError(f"{origin}: missing key {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise ComplianceConfigError(f"{origin}: {exc}") from None


def load_campaign_settings(path: str | os.PathLike[str]) -> CampaignCompliance:
    """Read a campaign's compliance settings from a YAML file."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ComplianceConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ComplianceConfigError(f"{path}: not valid YAML: {exc}") from None
    return campaign_from_mapping(data, str(path))
