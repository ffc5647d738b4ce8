"""A small G.711 audio mixer for supervisor monitoring (listen, whisper, barge).

Theory of operation
-------------------
rtpengine 10.5 forwards and forks media but does not mix it: a ``subscribe request`` naming two
tags answers with two ``m=`` lines, one per source, which a desk phone cannot play (tried; its
audio player and mixing buffer came in later releases). Monitoring needs mixing — the supervisor
hears customer *and* agent; a whisper reaches the agent together with the customer — so while a
call is monitored its media runs through this mixer, and every leg of it stays anchored in
rtpengine (phones never see the mixer's address).

A :class:`Mixer` has one :class:`Party` per participant: a UDP socket on which rtpengine delivers
that participant's RTP and to which rtpengine expects the participant's audio back. Every 20 ms
(paced by the loop's clock, so it does not drift) the mixer takes one frame from each party's
short queue — silence when none came — and sends each party the sum of the parties it
:meth:`~Mixer.hears`, never its own voice (an N-1 mix). Samples are G.711 A-law or µ-law
(payload types 8 and 0), decoded with tables, summed as 16-bit linear, clipped and encoded
again in the law the receiving party uses (learnt from what it sends; A-law until then), so the
mixer also converts between parties that chose different laws. Other payload types (DTMF events,
comfort noise) are ignored. Each output stream has its own SSRC, sequence number and timestamp.

The routing is the monitoring mode (:mod:`centrale.telephony.monitor`): *listen* — the
supervisor hears both, nobody hears the supervisor; *whisper* — the agent hears the supervisor
too; *barge* — both do. Changing it takes effect with the next frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import struct
from collections import deque
from typing import cast

from centrale.telephony.recording import ALAW, ULAW

log = logging.getLogger("centrale.telephony.mixer")

FRAME = 160  # samples per 20-ms frame at 8 kHz
TICK = 0.02
PCMU, PCMA = 0, 8
_SILENCE = (0,) * FRAME
_HEADER = struct.Struct("!BBHII")


# --- G.711 encoding (ITU-T G.711: sign, 3-bit segment, 4-bit mantissa) -------------------------------
def _encode_alaw(sample: int) -> int:
    """A 16-bit linear sample as an A-law byte (13-bit magnitude, even bits inverted)."""
    value = sample >> 3
    if value >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        value = -value - 1
    if value > 0xFFF:
        return 0x7F ^ mask
    segment = max(0, value.bit_length() - 5)  # 0 for 0..31, then one per doubling up to 7
    mantissa = (value >> 1) & 0x0F if segment == 0 else (value >> segment) & 0x0F
    return ((segment << 4) | mantissa) ^ mask


def _encode_ulaw(sample: int) -> int:
    """A 16-bit linear sample as a µ-law byte (14-bit magnitude plus bias, all bits inverted)."""
    value = sample >> 2
    if value < 0:
        value = -value
        mask = 0x7F
    else:
        mask = 0xFF
    value = min(value, 8159) + 33  # the bias (132 on the 16-bit scale) makes segments powers of two
    segment = value.bit_length() - 6  # 0 for 33..63, …, 7 for 4096..8191
    if segment > 7:
        return 0x7F ^ mask
    return ((segment << 4) | ((value >> (segment + 1)) & 0x0F)) ^ mask


# Indexed by the sample's upper 14 bits (sample >> 2 & 0x3FFF): finer than either law resolves.
_ENCODE_A = bytes(_encode_alaw(((i ^ 0x2000) - 0x2000) << 2) for i in range(1 << 14))
_ENCODE_U = bytes(_encode_ulaw(((i ^ 0x2000) - 0x2000) << 2) for i in range(1 << 14))
ENCODERS = {PCMA: _ENCODE_A, PCMU: _ENCODE_U}
DECODERS = {PCMA: ALAW, PCMU: ULAW}


def encode(samples: list[int] | tuple[int, ...], payload_type: int) -> bytes:
    """16-bit linear samples (clipped here) as G.711 of `payload_type` (0 µ-law, 8 A-law)."""
    table = ENCODERS[payload_type]
    return bytes(table[(max(-32768, min(32767, s)) >> 2) & 0x3FFF] for s in samples)


def decode(payload: bytes, payload_type: int) -> tuple[int, ...]:
    table = DECODERS[payload_type]
    return tuple(table[b] for b in payload)


# --- the mixer -----------------------------------------------------------------------------------------
class Party(asyncio.DatagramProtocol):
    """One participant's socket on the mixer: frames in from rtpengine, the mix out to it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.transport: asyncio.DatagramTransport | None = None
        self.port = 0
        self.peer: tuple[str, int] | None = None  # rtpengine's address for this participant
        self.payload_type = PCMA  # learnt from what arrives
        self.frames: deque[tuple[int, ...]] = deque(maxlen=6)  # 120 ms of jitter at most
        self.received = 0  # RTP packets taken in
        self.sent = 0
        self._ssrc = secrets.randbits(32)
        self._seq = secrets.randbits(16)
        self._ts = secrets.randbits(32)
        self._pending: list[int] = []  # samples of packets that were not exactly one frame

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)
        self.port = int(transport.get_extra_info("sockname")[1])

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        if len(data) <= _HEADER.size or data[0] >> 6 != 2:
            return
        payload_type = data[1] & 0x7F
        if payload_type not in DECODERS:
            return  # telephone-event, comfort noise, RTCP on the wrong port: not audio to mix
        start = _HEADER.size + 4 * (data[0] & 0x0F)
        if data[0] & 0x10 and len(data) >= start + 4:  # a header extension
            start += 4 + 4 * int.from_bytes(data[start + 2 : start + 4], "big")
        end = len(data) - (data[-1] if data[0] & 0x20 else 0)  # padding
        if start >= end:
            return
        self.payload_type = payload_type
        self.received += 1
        self._pending.extend(decode(data[start:end], payload_type))
        while len(self._pending) >= FRAME:
            self.frames.append(tuple(self._pending[:FRAME]))
            del self._pending[:FRAME]

    def error_received(self, exc: Exception) -> None:  # ICMP: rtpengine's port went away
        log.debug("mixer party %s: %s", self.name, exc)

    def take(self) -> tuple[int, ...]:
        return self.frames.popleft() if self.frames else _SILENCE

    def send(self, samples: list[int] | tuple[int, ...]) -> None:
        if self.transport is None or self.peer is None:
            return
        self._seq = (self._seq + 1) & 0xFFFF
        self._ts = (self._ts + FRAME) & 0xFFFFFFFF
        header = _HEADER.pack(0x80, self.payload_type, self._seq, self._ts, self._ssrc)
        self.transport.sendto(header + encode(samples, self.payload_type), self.peer)
        self.sent += 1


class Mixer:
    """Parties, who hears whom, and the 20-ms clock. :meth:`add` parties, then :meth:`start`."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.parties: dict[str, Party] = {}
        self._hears: dict[str, frozenset[str]] = {}
        self._task: asyncio.Task[None] | None = None

    async def add(self, name: str) -> Party:
        loop = asyncio.get_running_loop()
        _, party = await loop.create_datagram_endpoint(lambda: Party(name), local_addr=(self.host, 0))
        self.parties[name] = party
        return party

    def hears(self, listener: str, sources: set[str] | frozenset[str]) -> None:
        """What `listener` is sent from now on: the sum of `sources` (its own voice is never sent)."""
        self._hears[listener] = frozenset(sources) - {listener}

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for party in self.parties.values():
            if party.transport is not None:
                party.transport.close()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            self.tick()
            due += TICK
            delay = due - loop.time()
            if delay < -0.2:  # the loop was stalled: start afresh rather than burst
                due = loop.time()
                delay = 0
            await asyncio.sleep(max(0.0, delay))

    def tick(self) -> None:
        """One frame: take a frame from every party, send each the sum of what it hears."""
        frames = {name: party.take() for name, party in self.parties.items()}
        for name, party in self.parties.items():
            sources = [frames[s] for s in self._hears.get(name, ()) if s in frames]
            if not sources:
                continue
            mixed = [sum(column) for column in zip(*sources, strict=True)] if len(sources) > 1 else sources[0]
            party.send(mixed)


__all__ = ["FRAME", "PCMA", "PCMU", "Mixer", "Party", "decode", "encode"]
