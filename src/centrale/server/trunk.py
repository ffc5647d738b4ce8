"""Trunks: where the dialer's calls go out — a protocol, and a simulated network for demos and tests.

Theory of operation
-------------------
The campaign runner (:mod:`centrale.server.dialer`) hands every dial to a :class:`Trunk`:

* ``await trunk.dial(dial_id, number, caller_id, ring_timeout)`` places the call and returns its
  *call progress* outcome once it is known (:class:`CallProgress`): ``answered`` (a person, at the
  end of the greeting: the call is now live and stays up), ``busy``, ``no_answer`` (rang out),
  ``failed`` (unobtainable, congestion) or ``machine`` (answering-machine detection; like an
  answered call it stays up until ``hangup``: the dialer hangs it up at once, after the campaign's
  recorded message, or after an agent left a message — the campaign's ``answering_machine``
  setting). Only ``dial_id`` identifies the call to the trunk afterwards.
* ``await trunk.hangup(dial_id, play_message, message=None)`` ends a live call — after the agent
  finished it, or at once when no agent was free within 2 seconds, in which case ``play_message``
  asks for the recorded information message (caller's name and a number to call back) before
  hanging up, as Ofcom and the FTC require for every abandoned call. ``message`` (an answering
  machine's call) asks the trunk to play that recorded message — its text or the file name of the
  recording — to the machine before hanging up.

The SIP trunk of the telephony work implements the same two methods. :class:`SimulatedTrunk` is a
telephone network on the real clock (``asyncio.sleep``) with a seeded generator: answer, busy,
machine and failure rates, ring and detection times. Given a path it appends every dial it receives
— and every outcome and hang-up — to a JSON-lines *trunk log*, flushed and fsync'd line by line: the
outside world's own record of what was dialled, which the crash test reads to prove that no lead
was dialled twice for the same attempt.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from centrale.outbound.survey import Survey

__all__ = ["CallProgress", "SimulatedTrunk", "Trunk", "TrunkLog"]


class CallProgress(StrEnum):
    """How a dial ended as far as the network can tell."""

    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    FAILED = "failed"
    MACHINE = "machine"


@runtime_checkable
class Trunk(Protocol):
    """An outbound line provider (simulated, or the SIP trunk)."""

    async def dial(self, dial_id: str, number: str, caller_id: str, ring_timeout: float) -> CallProgress:
        """Place a call; return its call-progress outcome. ``answered`` leaves the call up."""
        ...

    async def hangup(
        self, dial_id: str, play_message: bool, message: str | None = None, language: str = "en"
    ) -> None:
        """End a live call, first playing the information message if ``play_message``, or else
        ``message`` if one is given — a message left on an answering machine, or an agentless
        campaign's: a WAV file's name, or text spoken in ``language`` (``nl``, ``en``)."""
        ...

    async def survey(
        self, dial_id: str, survey: Survey, language: str = "en", intro: str | None = None
    ) -> dict[str, str]:
        """Play `intro` to the answered call's person, then ask the `survey`'s questions (text
        spoken in `language`) and return the keys pressed (question id → key; questions not
        answered are left out). The call stays up: ``hangup`` ends it."""
        ...


class TrunkLog:
    """An append-only JSON-lines file, one fsync'd line per record (the trunk's own record)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    @staticmethod
    def read(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
        """Every complete record of a trunk log (a torn last line, after a kill, is skipped)."""
        out: list[dict[str, Any]] = []
        p = Path(path)
        if not p.exists():
            return out
        for line in p.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out


class SimulatedTrunk:
    """A simulated telephone network on the real clock (see the module docstring).

    Shares: ``answer_rate`` (a person answers), ``machine_rate``, ``busy_rate``, ``failed_rate``;
    the rest ring out as ``no_answer``. Times in seconds: a person or machine answers after a
    uniform ``ring_seconds`` draw (kept under the ring time-out), machine detection takes
    ``machine_detect_seconds``, busy and failed come after ``busy_seconds``/``failed_seconds``, and
    an unanswered call rings for ``no_answer_seconds`` (default: the campaign's ring time-out).
    ``log_path`` names the trunk log. One ``random.Random`` draws everything, in dial order.
    """

    def __init__(
        self,
        rng: random.Random | None = None,
        *,
        answer_rate: float = 0.3,
        busy_rate: float = 0.1,
        machine_rate: float = 0.15,
        failed_rate: float = 0.05,
        ring_seconds: tuple[float, float] = (2.0, 8.0),
        machine_detect_seconds: float = 2.0,
        busy_seconds: tuple[float, float] = (1.0, 3.0),
        failed_seconds: tuple[float, float] = (0.5, 2.0),
        no_answer_seconds: float | None = None,
        survey_seconds: float = 0.05,
        survey_abandon_rate: float = 0.0,
        log_path: str | os.PathLike[str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        rates = (answer_rate, busy_rate, machine_rate, failed_rate)
        if any(r < 0 for r in rates) or sum(rates) > 1.0 + 1e-9:
            raise ValueError("the answer, busy, machine and failed rates must be ≥ 0 and sum to at most 1")
        self.rng = rng or random.Random()
        self.answer_rate = answer_rate
        self.busy_rate = busy_rate
        self.machine_rate = machine_rate
        self.failed_rate = failed_rate
        self.ring_seconds = ring_seconds
        self.machine_detect_seconds = machine_detect_seconds
        self.busy_seconds = busy_seconds
        self.failed_seconds = failed_seconds
        self.no_answer_seconds = no_answer_seconds
        self.clock = clock
        self.log = TrunkLog(log_path) if log_path is not None else None
        self.live: set[str] = set()
        """Calls answered and not hung up yet."""
        self.dials = 0
        self.messages_played = 0
        self.messages_left: list[tuple[str, str, str]] = []  # (dial, message, language) before hang-ups
        self.surveys: list[tuple[str, dict[str, str], str | None]] = []  # (dial, keys, intro) per survey
        self.survey_seconds = survey_seconds
        self.survey_abandon_rate = survey_abandon_rate
        self.outcomes: dict[str, int] = {}

    def _record(self, **record: Any) -> None:
        if self.log is not None:
            self.log.write({"at": round(self.clock(), 3), **record})

    def _plan(self, ring_timeout: float) -> tuple[CallProgress, float]:
        rng = self.rng
        limit = max(0.5, ring_timeout - 0.1)
        u = rng.random()
        answer = min(limit, rng.uniform(*self.ring_seconds))
        if u < self.answer_rate:
            return CallProgress.ANSWERED, answer
        u -= self.answer_rate
        if u < self.machine_rate:
            return CallProgress.MACHINE, answer + self.machine_detect_seconds
        u -= self.machine_rate
        if u < self.busy_rate:
            return CallProgress.BUSY, rng.uniform(*self.busy_seconds)
        u -= self.busy_rate
        if u < self.failed_rate:
            return CallProgress.FAILED, rng.uniform(*self.failed_seconds)
        ring = ring_timeout if self.no_answer_seconds is None else min(ring_timeout, self.no_answer_seconds)
        return CallProgress.NO_ANSWER, ring

    async def dial(self, dial_id: str, number: str, caller_id: str, ring_timeout: float) -> CallProgress:
        self.dials += 1
        self._record(event="dial", dial_id=dial_id, number=number, caller_id=caller_id)
        outcome, seconds = self._plan(ring_timeout)
        await asyncio.sleep(seconds)
        if outcome is CallProgress.ANSWERED or outcome is CallProgress.MACHINE:
            self.live.add(dial_id)  # a machine stays up too, until the dialer hangs it up
        self.outcomes[outcome.value] = self.outcomes.get(outcome.value, 0) + 1
        self._record(event="outcome", dial_id=dial_id, outcome=outcome.value)
        return outcome

    async def hangup(
        self, dial_id: str, play_message: bool, message: str | None = None, language: str = "en"
    ) -> None:
        if dial_id not in self.live:
            return
        self.live.discard(dial_id)
        if play_message:
            self.messages_played += 1
        if message is not None:
            self.messages_left.append((dial_id, message, language))
            self._record(
                event="hangup", dial_id=dial_id, message=play_message, left=message, language=language
            )
            return
        self._record(event="hangup", dial_id=dial_id, message=play_message)

    async def survey(
        self, dial_id: str, survey: Survey, language: str = "en", intro: str | None = None
    ) -> dict[str, str]:
        """A simulated person presses an allowed key for each question (``survey_seconds`` after
        it is asked), or hangs up first (``survey_abandon_rate`` per question)."""
        keys: dict[str, str] = {}
        for question in survey.questions:
            if dial_id not in self.live or self.rng.random() < self.survey_abandon_rate:
                break
            await asyncio.sleep(self.survey_seconds)
            keys[question.id] = self.rng.choice(sorted(question.keys))
        self.surveys.append((dial_id, dict(keys), intro))
        self._record(event="survey", dial_id=dial_id, keys=keys)
        return keys

    def close(self) -> None:
        if self.log is not None:
            self.log.close()
