"""Music on hold: a WAV tone sequence made with the standard library when none is configured."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

NOTES = (523.25, 659.25, 783.99, 659.25, 587.33, 698.46, 880.0, 698.46)  # a gentle arpeggio


def write_tone_sequence(path: str | Path, *, seconds_per_note: float = 0.5, rate: int = 8000) -> Path:
    """Write a mono 16-bit WAV (8 kHz, what G.711 carries) of soft notes with short fades."""
    path = Path(path)
    frames = bytearray()
    n = int(seconds_per_note * rate)
    fade = int(0.03 * rate)
    for freq in NOTES:
        for i in range(n):
            envelope = min(1.0, i / fade, (n - 1 - i) / fade)
            sample = 0.25 * envelope * math.sin(2 * math.pi * freq * i / rate)
            frames += struct.pack("<h", int(sample * 32767))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(frames))
    return path
