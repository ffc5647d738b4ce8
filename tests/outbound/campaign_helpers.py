"""Builders shared by the campaign tests: settings as the YAML would hold them, and contacts."""

from __future__ import annotations

import copy
import random
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from centrale.outbound.campaign import Campaign
from centrale.outbound.campaign_config import CampaignSettings, campaign_settings_from_dict
from centrale.outbound.contact import Contact, TimeZoneSource
from centrale.outbound.state import ComplianceState

AMS = ZoneInfo("Europe/Amsterdam")
MONDAY = datetime(2026, 12, 7, 11, 0, tzinfo=AMS)  # a working day inside NL calling hours

DISPOSITIONS = [
    {"code": "sale", "category": "sale"},
    {"code": "no_thanks", "category": "not_interested"},
    {"code": "callback", "category": "callback"},
    {"code": "wrong", "category": "wrong_number"},
    {"code": "absent", "category": "no_contact"},
    {"code": "dnc", "category": "do_not_call"},
]


def base_settings() -> dict[str, Any]:
    return {
        "campaign": {"id": "c1", "account": "acme", "name": "Winter"},
        "mode": "progressive",
        "caller_id": "+31201234567",
        "lists": [{"name": "a", "file": "a.csv", "map": {"phone": "Telefoon", "custom.prio": "Prio"}}],
        "compliance": {"preset": "nl"},
        "dispositions": copy.deepcopy(DISPOSITIONS),
        "active": {"time_zone": "Europe/Amsterdam"},
    }


def settings(**overrides: Any) -> CampaignSettings:
    data = base_settings()
    data.update(overrides)
    return campaign_settings_from_dict(data, source="test.yaml")


def person(
    i: int, *, zones: tuple[str, ...] = ("Europe/Amsterdam",), phone: str | None = None, **kw: Any
) -> Contact:
    kw.setdefault("customer_relationship_active", True)  # lawful under the NL preset
    return Contact(
        row=i + 2,
        phone=phone or f"+3161{i:07d}",
        first_name=kw.pop("first_name", f"P{i}"),
        time_zones=zones,
        time_zone_source=TimeZoneSource.NUMBER,
        **kw,
    )


def people(n: int, start: int = 0, **kw: Any) -> list[Contact]:
    return [person(i, **kw) for i in range(start, start + n)]


def make(
    s: CampaignSettings,
    contacts: dict[str, list[Contact]] | list[Contact],
    state: ComplianceState | None = None,
    seed: int = 1,
) -> Campaign:
    lists = contacts if isinstance(contacts, dict) else {s.lists[0].name: contacts}
    return Campaign(s, lists, state or ComplianceState(), rng=random.Random(seed))
