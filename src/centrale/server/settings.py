"""The live server's settings: typed, validated when the server starts, with clear messages."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from centrale.telephony.settings import TelephonySettings  # telephony (docs/telephony.md)


class ServerSettings(BaseModel):
    """Everything `centrale serve` can be told. Defaults give a working server with no configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    database: str = Field("centrale.db", description="SQLite file or postgresql://… URL")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    timezone: str = Field("Europe/Amsterdam", description="the center's time zone: days, intervals, reports")
    interval_seconds: int = Field(900, ge=60, le=3600)
    secure_cookies: bool = Field(False, description="mark session cookies Secure (behind HTTPS)")
    session_hours: float = Field(12.0, gt=0)
    wallboard_interval: float = Field(
        0.25, gt=0, le=5, description="seconds between wallboard pushes, at most"
    )
    webhooks: bool = True
    metrics_token: str | None = Field(
        None, min_length=16, description="bearer token for GET /metrics (Prometheus); unset: no metrics"
    )
    # --- telephony (centrale.telephony; off unless given) ---
    telephony: TelephonySettings | None = None
    # --- end of telephony ---

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name like Europe/Amsterdam)") from exc
        return value

    @field_validator("interval_seconds")
    @classmethod
    def _interval(cls, value: int) -> int:
        if 86400 % value:
            raise ValueError("the interval must divide a day (900 for 15 minutes, 1800, 3600, …)")
        return value
