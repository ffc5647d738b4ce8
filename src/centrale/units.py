"""Parsing of the units people write in scenarios and on the command line.

Durations are written as ``180s``, ``30m``, ``1h``, ``1h30m``, ``250ms`` or a bare number of seconds;
rates as ``120/h``, ``2/m``, ``0.5/s`` or a bare number per hour. Percent-style targets as ``80/20``
(80 % within 20 s). Every parser raises :class:`ValueError` with a message fit to show to a person.
"""

from __future__ import annotations

import re

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str | float | int) -> float:
    """Seconds in a duration such as ``"1h30m"``, ``"20s"`` or ``45`` (seconds)."""
    if isinstance(text, bool):
        raise ValueError(f"expected a duration such as '20s' or '5m', got {text!r}")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError(f"a duration cannot be negative, got {text}")
        return float(text)
    s = str(text).strip().lower().replace(" ", "")
    if not s:
        raise ValueError("expected a duration such as '20s' or '5m', got an empty value")
    try:
        value = float(s)
    except ValueError:
        pos = 0
        total = 0.0
        for m in _DURATION_PART.finditer(s):
            if m.start() != pos:
                break
            total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
            pos = m.end()
        if pos != len(s) or pos == 0:
            raise ValueError(
                f"expected a duration such as '20s', '5m', '1h30m' or a number of seconds, got {text!r}"
            ) from None
        return total
    if value < 0:
        raise ValueError(f"a duration cannot be negative, got {text!r}")
    return value


_RATE = re.compile(r"^(\d+(?:\.\d+)?)\s*(?:/\s*(s|sec|m|min|h|hour|d|day))?$")
_RATE_SECONDS = {
    "s": 1.0,
    "sec": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
}


def parse_rate_per_hour(text: str | float | int) -> float:
    """Arrivals per hour in a rate such as ``"120/h"``, ``"2/m"`` or ``120`` (per hour)."""
    if isinstance(text, bool):
        raise ValueError(f"expected a rate such as '120/h', got {text!r}")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError(f"a rate cannot be negative, got {text}")
        return float(text)
    m = _RATE.match(str(text).strip().lower())
    if not m:
        if str(text).strip().startswith("-"):
            raise ValueError(f"a rate cannot be negative, got {text!r}")
        raise ValueError(f"expected a rate such as '120/h', '2/m' or a number per hour, got {text!r}")
    per = _RATE_SECONDS[m.group(2)] if m.group(2) else 3600.0
    return float(m.group(1)) * 3600.0 / per


def parse_service_level(text: str) -> tuple[float, float]:
    """``"80/20"`` → (0.80, 20.0): the fraction to answer and the threshold in seconds.

    The threshold may carry a unit (``"90/4h"``).
    """
    parts = str(text).split("/")
    if len(parts) != 2:
        raise ValueError(f"expected a service level such as '80/20' (80 % within 20 s), got {text!r}")
    try:
        pct = float(parts[0].rstrip("%"))
    except ValueError:
        raise ValueError(f"expected a percentage before '/' in {text!r}") from None
    if not 0 < pct <= 100:
        raise ValueError(f"the service-level percentage must be in (0, 100], got {pct:g} in {text!r}")
    return pct / 100.0, parse_duration(parts[1])


def format_duration(seconds: float) -> str:
    """A short human form: ``95`` → ``"1m35s"``."""
    if seconds < 60:
        return f"{seconds:.0f}s" if seconds >= 10 else f"{seconds:.1f}s"
    m, s = divmod(round(seconds), 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"
