"""Keypad digits from callers, two ways.

* **RFC 2833 / 4733 telephone-events** in the RTP stream: rtpengine decodes them and, started with
  ``--dtmf-log-dest=HOST:PORT``, sends one JSON object per key press to that UDP address
  (``{"callid": …, "source_tag": …, "type": "DTMF", "event": 1, "duration": …, …}``).
  :class:`DtmfLogListener` receives them on the asyncio loop.
* **SIP INFO** (the fallback for phones that signal digits out of band): bodies of type
  ``application/dtmf-relay`` (``Signal=5`` / ``Duration=160`` lines) or ``application/dtmf``
  (the digit alone), read by :func:`digit_from_info`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("centrale.telephony.dtmf")

# RFC 4733 §3.2: events 0–9 are the digits, then *, #, A–D.
EVENTS = "0123456789*#ABCD"


def digit_for_event(event: object) -> str | None:
    """The keypad digit of a telephone-event code, or None for anything else (tones, flash)."""
    if isinstance(event, bool) or not isinstance(event, int):
        return None
    return EVENTS[event] if 0 <= event < len(EVENTS) else None


def parse_dtmf_log(datagram: bytes) -> tuple[str, str, str] | None:
    """(call id, tag of the party that pressed, digit) from one rtpengine DTMF log datagram, or None
    when it is not one (a malformed datagram is logged once at DEBUG and ignored)."""
    try:
        message = json.loads(datagram.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        log.debug("DTMF log: not JSON: %r", datagram[:200])
        return None
    if not isinstance(message, dict) or message.get("type", "DTMF") != "DTMF":
        return None
    call_id, tag = message.get("callid"), message.get("source_tag")
    digit = digit_for_event(message.get("event"))
    if not isinstance(call_id, str) or not isinstance(tag, str) or digit is None:
        return None
    return call_id, tag, digit


def digit_from_info(content_type: str, body: str) -> str | None:
    """The digit a SIP INFO carries (``application/dtmf-relay`` or ``application/dtmf``), or None."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/dtmf-relay":
        for line in body.splitlines():
            name, sep, value = line.partition("=")
            if sep and name.strip().lower() == "signal":
                return _digit(value.strip())
        return None
    if kind == "application/dtmf":
        return _digit(body.strip())
    return None


def _digit(value: str) -> str | None:
    if len(value) == 1 and value.upper() in EVENTS:
        return value.upper()
    if value.isdigit():  # some phones send the event code (10 for *, 11 for #)
        return digit_for_event(int(value))
    return None


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, on_digit: Callable[[str, str, str], None]) -> None:
        self.on_digit = on_digit
        self.received = 0

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.received += 1
        parsed = parse_dtmf_log(data)
        if parsed is not None:
            try:
                self.on_digit(*parsed)
            except Exception:
                log.exception("DTMF digit handler failed")


class DtmfLogListener:
    """Receives rtpengine's DTMF log on a UDP address; calls ``on_digit(call_id, tag, digit)``."""

    def __init__(self, host: str, port: int, on_digit: Callable[[str, str, str], None]) -> None:
        self.address = (host, port)
        self._protocol = _Protocol(on_digit)
        self._transport: asyncio.DatagramTransport | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: self._protocol, local_addr=self.address
            )
        except OSError as exc:
            raise OSError(
                f"cannot listen for rtpengine's DTMF log on {self.address[0]}:{self.address[1]}: {exc}"
            ) from None
        self._transport = transport

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    @property
    def received(self) -> int:
        """Datagrams received (every one, digit or not)."""
        return self._protocol.received


__all__ = ["DtmfLogListener", "digit_for_event", "digit_from_info", "parse_dtmf_log"]
