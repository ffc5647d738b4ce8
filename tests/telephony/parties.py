"""A call party's media for tests: a UDP socket that talks a constant level and records what it hears.

sipp does a party's signalling (its SDP names this socket's port); this plays the party's voice —
G.711 A-law frames of one constant sample value (its *level*) every 20 ms, sent to whoever last sent
it audio (symmetric RTP, as phones behind rtpengine do) — and keeps every frame it receives. A
received frame is either *constant* (one party's level, or a mix: the sum of levels) or *varying*
(music on hold), which is what the hold, transfer and monitoring tests assert on.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from dataclasses import dataclass

from centrale.telephony.mixer import PCMA, encode
from centrale.telephony.recording import ALAW, ULAW

from .conftest import free_port


@dataclass(frozen=True)
class Frame:
    at: float
    ssrc: int
    level: int | None  # the constant sample value, or None for varying audio (music)


class Party:
    def __init__(self, name: str, level: int) -> None:
        self.name = name
        self.level = level
        self.port = free_port()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.settimeout(0.005)
        self.peer: tuple[str, int] | None = None
        self.frames: list[Frame] = []
        self.talking = True
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._payload = encode([level] * 160, PCMA)
        self._thread = threading.Thread(target=self._run, name=f"party-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        seq, ts, ssrc = 1, 0, hash(self.name) & 0x7FFFFFFF
        due = time.monotonic()
        while not self._stop.is_set():
            while True:
                try:
                    data, addr = self.sock.recvfrom(2048)
                except (TimeoutError, BlockingIOError):
                    break
                except OSError:
                    return
                self._received(data, addr)
                if time.monotonic() >= due:
                    break
            now = time.monotonic()
            if now >= due:
                due += 0.02
                if self.talking and self.peer is not None:
                    seq, ts = (seq + 1) & 0xFFFF, (ts + 160) & 0xFFFFFFFF
                    header = struct.pack("!BBHII", 0x80, PCMA, seq, ts, ssrc)
                    with contextlib.suppress(OSError):  # closing
                        self.sock.sendto(header + self._payload, self.peer)

    def _received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) < 13 or data[0] >> 6 != 2:
            return
        pt = data[1] & 0x7F
        if pt not in (0, 8):
            return
        table = ALAW if pt == 8 else ULAW
        samples = [table[b] for b in data[12:]]
        low, high = min(samples), max(samples)
        mean = sum(samples) // len(samples)
        level = mean if high - low <= max(64, abs(mean) // 8) else None
        with self._lock:
            self.peer = addr
            self.frames.append(Frame(time.monotonic(), struct.unpack("!I", data[8:12])[0], level))

    def heard(self, since: float, until: float | None = None) -> list[Frame]:
        with self._lock:
            return [f for f in self.frames if f.at >= since and (until is None or f.at < until)]

    def levels(self, since: float, until: float | None = None) -> dict[int | None, int]:
        """How many frames of each level (rounded to 250; None = varying) arrived in the window."""
        out: dict[int | None, int] = {}
        for f in self.heard(since, until):
            key = None if f.level is None else round(f.level / 250) * 250
            out[key] = out.get(key, 0) + 1
        return out

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


class Voices:
    """The parties of one test (a fixture, `voices`, closes them all afterwards)."""

    def __init__(self) -> None:
        self.made: list[Party] = []

    def new(self, name: str, level: int) -> Party:
        party = Party(name, level)
        self.made.append(party)
        return party

    def close(self) -> None:
        for party in self.made:
            party.close()


def mostly(levels: dict[int | None, int], key: int | None, share: float = 0.8) -> bool:
    """Whether at least `share` of the frames in `levels` were of `key` (and there were some)."""
    total = sum(levels.values())
    return total >= 10 and levels.get(key, 0) >= share * total
