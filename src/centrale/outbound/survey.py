"""Agentless calls: a recorded message, or a keypad survey of questions with allowed keys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

_KEYS = frozenset("0123456789*#")


@dataclass(frozen=True, slots=True)
class SurveyQuestion:
    """One question: the prompt played and what each allowed key means (``{"1": "yes"}``)."""

    id: str
    prompt: str
    keys: Mapping[str, str]

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError(f"question {self.id!r} allows no keys")
        bad = sorted(k for k in self.keys if k not in _KEYS)
        if bad:
            raise ValueError(f"question {self.id!r}: {', '.join(bad)} are not keypad keys (0-9, *, #)")


@dataclass(frozen=True, slots=True)
class Survey:
    """The questions of a keypad survey, asked in order."""

    questions: tuple[SurveyQuestion, ...]

    def __post_init__(self) -> None:
        ids = [q.id for q in self.questions]
        if len(set(ids)) != len(ids):
            raise ValueError("survey question ids must be unique")

    def answers(self, pressed: Mapping[str, str]) -> dict[str, str]:
        """The answers (question id → meaning) for the keys pressed (question id → key).

        A question may be unanswered (the callee hung up); a key that is not allowed, or an
        unknown question, raises ``ValueError`` — the IVR should have re-asked.
        """
        by_id = {q.id: q for q in self.questions}
        out: dict[str, str] = {}
        for question_id, key in pressed.items():
            question = by_id.get(question_id)
            if question is None:
                raise ValueError(f"the survey has no question {question_id!r}")
            if key not in question.keys:
                raise ValueError(
                    f"key {key!r} is not allowed for question {question_id!r} "
                    f"(allowed: {', '.join(question.keys)})"
                )
            out[question_id] = question.keys[key]
        return out


@dataclass(frozen=True, slots=True)
class AgentlessPlan:
    """What an agentless call does when answered: play ``message``, then ask the ``survey``.

    ``max_lines`` is how many calls the campaign keeps going at once (there are no agents to pace
    by).
    """

    message: str = ""
    survey: Survey | None = None
    max_lines: int = 10

    def __post_init__(self) -> None:
        if not self.message and self.survey is None:
            raise ValueError("an agentless campaign needs a message, a survey or both")
        if self.max_lines < 1:
            raise ValueError("max_lines must be at least 1")
