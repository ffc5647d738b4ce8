"""Shared builders for the compliance tests."""

from __future__ import annotations

from typing import Any

from centrale.outbound.contact import Contact, TimeZoneSource
from centrale.outbound.presets import load_preset
from centrale.outbound.settings import CampaignCompliance

PRESETS = {name: load_preset(name) for name in ("nl", "uk", "us")}


def campaign(preset: str = "nl", **kwargs: Any) -> CampaignCompliance:
    defaults: dict[str, Any] = {"caller_id": "+31201234567" if preset == "nl" else "+442079460958"}
    if preset == "us":
        defaults["caller_id"] = "+12125550100"
    defaults.update(kwargs)
    return CampaignCompliance("c1", "acme", PRESETS[preset], **defaults)


def contact(
    phone: str = "+31612345678", zones: tuple[str, ...] = ("Europe/Amsterdam",), **kwargs: Any
) -> Contact:
    kwargs.setdefault("customer_relationship_active", True)
    return Contact(row=2, phone=phone, time_zones=zones, time_zone_source=TimeZoneSource.NUMBER, **kwargs)
