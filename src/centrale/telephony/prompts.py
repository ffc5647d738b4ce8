"""Announcement audio: the words of every prompt in Dutch and English, spoken by espeak-ng (Debian
package ``espeak-ng``) and kept as 8 kHz mono 16-bit WAVs (what G.711 carries), or the operator's
own WAV files instead.

espeak-ng writes 22,050 Hz; :func:`to_telephone_rate` resamples to 8 kHz with a polyphase filter
(scipy's ``resample_poly``, which low-passes before decimating, so there is no aliasing). Files are
cached by a hash of what they say (language, words), so a number is spoken once per language and
value, and a sequence of prompts played as one is joined once. Work here blocks (a subprocess, file
I/O): the SIP service runs it in an executor.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import wave
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

Language = Literal["en", "nl"]
RATE = 8000

VOICES: dict[str, str] = {"en": "en-gb", "nl": "nl"}

# The fixed prompts. "menu" and "greeting" come from the settings (their words per number).
TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "invalid": "Sorry, that is not a valid choice.",
        "notice": "This call may be recorded.",
        "consent": "Press 1 to allow this call to be recorded, or 2 to refuse.",
        "callback_offer": "Press 1 to be called back, keeping your place in line.",
        "callback_confirmed": "Thank you. We will call you back. Goodbye.",
    },
    "nl": {
        "invalid": "Sorry, dat is geen geldige keuze.",
        "notice": "Dit gesprek kan worden opgenomen.",
        "consent": "Druk op 1 als dit gesprek mag worden opgenomen, of op 2 als u dat niet wilt.",
        "callback_offer": "Druk op 1 om teruggebeld te worden. U behoudt uw plaats in de wachtrij.",
        "callback_confirmed": "Dank u wel. Wij bellen u terug. Tot ziens.",
    },
}


def position_text(language: str, position: int) -> str:
    if language == "nl":
        return f"U bent nummer {position} in de wachtrij."
    return f"You are number {position} in line."


def wait_text(language: str, minutes: int) -> str:
    if language == "nl":
        return f"De verwachte wachttijd is ongeveer {minutes} {'minuut' if minutes == 1 else 'minuten'}."
    return f"The expected wait is about {minutes} {'minute' if minutes == 1 else 'minutes'}."


def menu_text(language: str, options: Sequence[tuple[str, str, bool]]) -> str:
    """Words for a menu with no text of its own: (digit, queue, callback) per option."""
    parts = []
    for digit, queue, callback in options:
        if language == "nl":
            parts.append(
                f"Om teruggebeld te worden, druk {digit}." if callback else f"Voor {queue}, druk {digit}."
            )
        else:
            parts.append(f"To be called back, press {digit}." if callback else f"For {queue}, press {digit}.")
    return " ".join(parts)


class PromptError(Exception):
    """A prompt could not be made (espeak-ng missing or failing, an unreadable WAV)."""


def check_wav(path: str | Path) -> str | None:
    """None when `path` is a WAV the prompts can use (mono, 16 bit, 8 kHz); else the problem."""
    try:
        with wave.open(str(path), "rb") as f:
            channels, width, rate = f.getnchannels(), f.getsampwidth(), f.getframerate()
    except (OSError, wave.Error, EOFError) as exc:
        return f"not a readable WAV file: {path} ({exc})"
    if (channels, width, rate) != (1, 2, RATE):
        return f"{path}: need mono 16-bit 8000 Hz, got {channels} channel(s), {8 * width} bit, {rate} Hz"
    return None


def to_telephone_rate(samples: bytes, rate: int) -> bytes:
    """16-bit mono PCM at `rate` → 16-bit mono PCM at 8 kHz."""
    import math

    import numpy as np
    from scipy.signal import resample_poly

    if rate == RATE:
        return samples
    data = np.frombuffer(samples, dtype="<i2").astype(np.float64)
    g = math.gcd(RATE, rate)
    out = resample_poly(data, RATE // g, rate // g)
    return bytes(np.clip(np.round(out), -32768, 32767).astype("<i2").tobytes())


def seconds(path: str | Path) -> float:
    with wave.open(str(path), "rb") as f:
        return f.getnframes() / float(f.getframerate() or RATE)


class Prompts:
    """Makes and caches prompt WAVs in `cache` for one service."""

    def __init__(self, cache: str | Path, *, espeak: str | None = None) -> None:
        self.cache = Path(cache)
        self.cache.mkdir(parents=True, exist_ok=True)
        self.espeak = espeak or shutil.which("espeak-ng")
        self.spoken = 0  # texts spoken by espeak-ng (not found in the cache)

    def speech(self, language: str, text: str) -> Path:
        """`text` spoken in `language` as an 8 kHz WAV (cached)."""
        key = hashlib.sha256(f"{language}\0{text}".encode()).hexdigest()[:24]
        path = self.cache / f"say-{language}-{key}.wav"
        if path.exists():
            return path
        if self.espeak is None:
            raise PromptError("espeak-ng is not installed (Debian package espeak-ng): cannot speak prompts")
        raw = path.with_suffix(".raw.wav")
        try:
            done = subprocess.run(
                [self.espeak, "-v", VOICES.get(language, language), "-s", "150", "-w", str(raw), text],
                capture_output=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PromptError(f"espeak-ng failed: {exc}") from None
        if done.returncode != 0:
            raise PromptError(
                f"espeak-ng failed ({done.returncode}): {done.stderr.decode(errors='replace')[:200]}"
            )
        try:
            with wave.open(str(raw), "rb") as f:
                rate, frames = f.getframerate(), f.readframes(f.getnframes())
        finally:
            raw.unlink(missing_ok=True)
        _write(path, to_telephone_rate(frames, rate))
        self.spoken += 1
        return path

    def fixed(self, language: str, name: str, texts: Mapping[str, str], files: Mapping[str, str]) -> Path:
        """The prompt `name`: the operator's file when given, else its words (`texts` first, then the
        built-in ones) spoken."""
        if name in files:
            return Path(files[name])
        text = texts.get(name) or TEXTS.get(language, TEXTS["en"]).get(name)
        if text is None:
            raise PromptError(f"no words for prompt {name!r}")
        return self.speech(language, text)

    def join(self, parts: Sequence[Path]) -> Path:
        """The WAVs one after the other, as one file (cached); a single part is itself."""
        if len(parts) == 1:
            return parts[0]
        key = hashlib.sha256("\0".join(str(p) for p in parts).encode()).hexdigest()[:24]
        path = self.cache / f"seq-{key}.wav"
        if path.exists():
            return path
        frames = bytearray()
        gap = b"\0\0" * (RATE // 4)  # a quarter second between prompts
        for i, part in enumerate(parts):
            with wave.open(str(part), "rb") as f:
                frames += f.readframes(f.getnframes())
            if i < len(parts) - 1:
                frames += gap
        _write(path, bytes(frames))
        return path


def _write(path: Path, frames: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    with wave.open(str(tmp), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(frames)
    tmp.replace(path)  # whole or not at all: a concurrent reader never sees half a file


__all__ = [
    "TEXTS",
    "PromptError",
    "Prompts",
    "check_wav",
    "menu_text",
    "position_text",
    "seconds",
    "to_telephone_rate",
    "wait_text",
]
