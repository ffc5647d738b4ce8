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


MESSAGE_NOTES = (440.0, 0.0, 440.0, 0.0, 554.37, 659.25)  # two beeps and a rising pair (0: silence)


def write_information_message(path: str | Path, *, seconds_per_note: float = 0.25, rate: int = 8000) -> Path:
    """The stand-in information message played to an abandoned outbound call (about 1.5 s)."""
    path = Path(path)
    frames = bytearray()
    n = int(seconds_per_note * rate)
    fade = int(0.02 * rate)
    for freq in MESSAGE_NOTES:
        for i in range(n):
            envelope = min(1.0, i / fade, (n - 1 - i) / fade)
            sample = 0.3 * envelope * math.sin(2 * math.pi * freq * i / rate) if freq else 0.0
            frames += struct.pack("<h", int(sample * 32767))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(frames))
    return path


def wav_seconds(path: str | Path) -> float:
    """How long a WAV file plays."""
    with wave.open(str(path), "rb") as f:
        return f.getnframes() / float(f.getframerate() or 8000)
