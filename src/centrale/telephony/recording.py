"""Call recordings: rtpengine's per-call pcap (both directions) turned into a stereo WAV.

rtpengine (``--recording-dir=DIR --recording-method=pcap``) writes every RTP packet it receives for
a recorded call to ``DIR/pcaps/<escaped call-id>-<hex>.pcap`` (link type raw IPv4 on this machine;
Ethernet, Linux cooked v1/v2 and BSD loopback are read as well) and a metadata file to
``DIR/metadata``. :func:`pcap_to_wav` reads it with the stdlib, decodes G.711 (PCMA/PCMU) with a
table of its own and writes a 16-bit 8 kHz WAV with two channels: **left = the customer, right =
the agent**. A packet's side is told by its addresses (the customer's and the agent's SDP, as
source, or rtpengine's ports facing each, as destination). Samples are placed by RTP timestamp
from each stream's first packet, which is placed by its capture time, so silence suppression and
late starts keep both channels aligned.
"""

from __future__ import annotations

import logging
import struct
import urllib.parse
import wave
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("centrale.telephony.recording")

RATE = 8000
Address = tuple[str, int]

__all__ = ["Sides", "find_pcap", "pcap_to_wav", "read_pcap", "sdp_address"]


def _alaw(value: int) -> int:
    value ^= 0x55
    sign, exponent, mantissa = value & 0x80, (value >> 4) & 7, value & 0x0F
    sample = (mantissa << 4) + 8
    if exponent:
        sample = (sample + 0x100) << (exponent - 1)
    return sample if sign else -sample


def _ulaw(value: int) -> int:
    value = ~value & 0xFF
    sign, exponent, mantissa = value & 0x80, (value >> 4) & 7, value & 0x0F
    sample = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return -sample if sign else sample


ALAW = tuple(_alaw(i) for i in range(256))
ULAW = tuple(_ulaw(i) for i in range(256))
DECODERS = {0: ULAW, 8: ALAW}  # static RTP payload types: PCMU, PCMA


def sdp_address(sdp: str) -> Address | None:
    """The audio address an SDP gives (``c=`` and the first ``m=audio`` port), or None."""
    host, port = None, None
    for line in sdp.splitlines():
        line = line.strip()
        if line.startswith("c=IN IP4 ") and host is None:
            host = line.split()[-1]
        elif line.startswith("m=audio ") and port is None:
            try:
                port = int(line.split()[1])
            except (IndexError, ValueError):
                return None
    return (host, port) if host is not None and port is not None else None


@dataclass
class Sides:
    """How to tell the customer's packets from the agent's: addresses as source or destination."""

    customer_src: set[Address] = field(default_factory=set)
    customer_dst: set[Address] = field(default_factory=set)
    agent_src: set[Address] = field(default_factory=set)
    agent_dst: set[Address] = field(default_factory=set)

    def side(self, src: Address, dst: Address) -> int | None:
        """0 for the customer, 1 for the agent, None when unknown."""
        if src in self.customer_src or dst in self.customer_dst:
            return 0
        if src in self.agent_src or dst in self.agent_dst:
            return 1
        return None


def read_pcap(path: Path) -> Iterator[tuple[float, Address, Address, bytes]]:
    """(capture time, source, destination, UDP payload) for every IPv4 UDP packet of a pcap file."""
    data = path.read_bytes()
    if len(data) < 24:
        return
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise ValueError(f"{path}: not a pcap file")
    fraction = 1e-9 if magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d") else 1e-6
    linktype = struct.unpack(endian + "I", data[20:24])[0] & 0x0FFFFFFF
    record = struct.Struct(endian + "IIII")
    offset = 24
    while offset + 16 <= len(data):
        seconds, frac, included, _original = record.unpack_from(data, offset)
        offset += 16
        frame = data[offset : offset + included]
        offset += included
        ip = _ip_payload(linktype, frame)
        if ip is None or len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        header = (ip[0] & 0x0F) * 4
        udp = ip[header:]
        if len(udp) < 8:
            continue
        sport, dport, length = struct.unpack_from("!HHH", udp)
        src = (".".join(str(b) for b in ip[12:16]), sport)
        dst = (".".join(str(b) for b in ip[16:20]), dport)
        yield seconds + frac * fraction, src, dst, udp[8:length]


def _ip_payload(linktype: int, frame: bytes) -> bytes | None:
    if linktype in (101, 228, 12, 14):  # raw IP
        return frame
    if linktype == 1:  # Ethernet
        return frame[14:] if frame[12:14] == b"\x08\x00" else None
    if linktype == 113:  # Linux cooked v1
        return frame[16:] if frame[14:16] == b"\x08\x00" else None
    if linktype == 276:  # Linux cooked v2
        return frame[20:] if frame[0:2] == b"\x08\x00" else None
    if linktype == 0:  # BSD loopback: a 4-byte address family
        return frame[4:]
    return None


def pcap_to_wav(pcap: Path, wav: Path, sides: Sides) -> float:
    """Write the call's G.711 audio as a stereo WAV (left customer, right agent); returns seconds."""
    # (side, ssrc) → (first capture time, first RTP timestamp); packets per side as (sample, bytes).
    first: dict[tuple[int, int], tuple[float, int]] = {}
    chunks: list[tuple[int, int, bytes, tuple[int, ...]]] = []
    start: float | None = None
    unknown = 0
    for at, src, dst, payload in read_pcap(pcap):
        if len(payload) < 12 or payload[0] >> 6 != 2:
            continue
        payload_type = payload[1] & 0x7F
        table = DECODERS.get(payload_type)
        if table is None:
            continue  # telephone-event, comfort noise, RTCP …
        side = sides.side(src, dst)
        if side is None:
            unknown += 1
            continue
        csrc = payload[0] & 0x0F
        timestamp, ssrc = struct.unpack_from("!II", payload, 4)
        body = payload[12 + 4 * csrc :]
        if payload[0] & 0x20 and body:  # padding
            body = body[: -body[-1]]
        if start is None:
            start = at
        key = (side, ssrc)
        if key not in first:
            first[key] = (at, timestamp)
        at0, ts0 = first[key]
        position = round((at0 - start) * RATE) + ((timestamp - ts0) & 0xFFFFFFFF)
        if position > RATE * 3600 * 8:  # a wild timestamp jump: drop rather than write hours of silence
            continue
        chunks.append((side, position, body, table))
    if unknown:
        log.warning("%s: %d RTP packets from unknown addresses left out", pcap.name, unknown)
    frames = max((position + len(body) for _, position, body, _ in chunks), default=0)
    samples = array("h", bytes(4 * frames))
    for side, position, body, table in chunks:
        index = 2 * position + side
        for byte in body:
            samples[index] = table[byte]
            index += 2
    if samples.itemsize == 2 and struct.pack("=h", 1) != struct.pack("<h", 1):
        samples.byteswap()  # WAV is little-endian
    wav.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(wav), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(samples.tobytes())
    return frames / RATE


def find_pcap(spool: Path, call_id: str) -> Path | None:
    """rtpengine's pcap of a call in its recording directory (the call-id is URL-escaped)."""
    names = {urllib.parse.quote(call_id, safe=""), urllib.parse.quote(call_id, safe="-_.~"), call_id}
    found = [
        p for p in (spool / "pcaps").glob("*.pcap") if any(p.name.startswith(name + "-") for name in names)
    ]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None
