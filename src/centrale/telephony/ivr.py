"""The caller's side of an inbound call, from the greeting to the bridge: keypad menu, recording
notice or consent, the queue, announcements and the callback offer. Sans-I/O.

Theory of operation
-------------------
:class:`CallerFlow` is a state machine driven by inputs (:class:`Begin`, :class:`Digit`,
:class:`Timeout`, the engine's :class:`CallbackOffered`, …) and answering each with a list of
actions for the SIP service to carry out, in order. It plays nothing, waits for nothing and never
reads a clock: "play the menu, then wait 5 s for a digit" is ``[Play(("menu",)), Wait(5.0)]``, and
when those 5 s pass without a digit the SIP service feeds :class:`Timeout` back. A new list of
actions replaces whatever the previous one was still doing (a digit barges into a prompt); an empty
list changes nothing.

Actions come in two kinds. *Control* actions (:class:`Route`, :class:`AcceptCallback`) change the
call's standing with the engine and are carried out at once; *media* actions (:class:`Play`,
:class:`Wait`, :class:`Music`, :class:`Announce`, :class:`Hangup`) run one after the other and are
what a later input may cut short. Every list puts its control actions first.

States and what moves them (``transitions`` is the table; a pair that is not in it is illegal and
raises :class:`IvrError` ``ivr.illegal_input`` with nothing changed)::

    NEW ──Begin──► MENU (greeting + menu; no menu: straight to the choice of the number's queue)
    MENU ──Digit (an option)──► choice      ──Digit (other) / Timeout──► MENU again, or after
                                                                          `tries` the default choice
    choice of a queue ──► NOTICE  (the account's mode is ``announce``: "this call may be recorded")
                      ──► CONSENT (``consent``: "press 1 to allow recording, 2 to refuse")
                      ──► QUEUED  (otherwise: Route, music on hold)
    choice of a callback ──► ACCEPTING (Route, then AcceptCallback: the caller keeps the place)
    NOTICE ──Timeout (the notice has played)──► QUEUED
    CONSENT ──1 / 2──► QUEUED with the decision; other digits and silence repeat it; after `tries`
                       the recording is refused (no answer is no consent)
    QUEUED ──CallbackOffered──► OFFERED ("press 1 to be called back, keeping your place")
           ──AnnounceDue──► QUEUED (position and expected wait, then the music again)
    OFFERED ──1──► ACCEPTING (AcceptCallback) ──other digit / Timeout──► QUEUED (music again)
    ACCEPTING ──CallbackConfirmed──► DONE (confirmation, then Hangup: the engine has the callback)
              ──CallbackRefused──► QUEUED (the engine is offering the call to an agent already)
    QUEUED / OFFERED / ACCEPTING ──Bridged──► DONE (an agent has the call: the keypad goes quiet)

Digits that mean nothing in a state (a key pressed during the notice or while queued) are legal
and change nothing. Greeting and notice run into one another as a single prompt so that a call with
a greeting and no menu hears them back to back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

RecordingMode = Literal["on", "announce", "consent", "off"]

DIGITS = frozenset("0123456789*#ABCD")


class IvrError(Exception):
    """An input the flow does not accept in its state (a programming error in the caller): a
    stable ``code`` and a one-line message; nothing changed. (Not a subclass of the core's
    ``DomainError``: that class is compiled by mypyc, and interpreted code cannot subclass it.)"""

    def __init__(self, code: str, message: str, **context: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.context = context

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class FlowState(StrEnum):
    NEW = "new"
    MENU = "menu"  # the menu plays or waits for a digit
    NOTICE = "notice"  # "this call may be recorded" plays; the call is queued after it
    CONSENT = "consent"  # waiting for 1 (allow recording) or 2 (refuse)
    QUEUED = "queued"  # in line with music on hold
    OFFERED = "offered"  # the callback offer plays or waits for 1
    ACCEPTING = "accepting"  # the callback was asked of the engine; waiting for its answer
    DONE = "done"  # bridged, called back or gone: nothing more for the keypad


# --- configuration --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Choice:
    """What a menu option does: queue the call in `queue`, or (callback) ask to be called back
    from `queue`, keeping the place a call arriving now would have."""

    queue: str
    callback: bool = False


@dataclass(frozen=True)
class FlowConfig:
    """One service number's flow (from the telephony settings)."""

    default: Choice  # no menu, or no valid choice after `tries`
    menu: Mapping[str, Choice] = field(default_factory=dict)  # digit → choice
    greeting: bool = False
    tries: int = 3  # menu (and consent) prompts heard at most
    input_timeout: float = 5.0  # seconds of silence after a prompt before it counts as no input
    recording: Mapping[str, RecordingMode] = field(default_factory=dict)  # queue → its account's mode


# --- inputs ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Begin:
    """The call is answered and media flows."""


@dataclass(frozen=True)
class Digit:
    digit: str


@dataclass(frozen=True)
class Timeout:
    """The last :class:`Wait` passed without a digit."""


@dataclass(frozen=True)
class CallbackOffered:
    """The engine's ``OfferCallback`` (an escalation step of the queue)."""


@dataclass(frozen=True)
class AnnounceDue:
    """Time for the periodic position and expected-wait announcement."""


@dataclass(frozen=True)
class CallbackConfirmed:
    """The engine accepted ``CallbackAccepted``."""


@dataclass(frozen=True)
class CallbackRefused:
    """The engine refused ``CallbackAccepted`` (the call is being offered to an agent)."""


@dataclass(frozen=True)
class Bridged:
    """An agent has the call."""


Input = (
    Begin | Digit | Timeout | CallbackOffered | AnnounceDue | CallbackConfirmed | CallbackRefused | Bridged
)


# --- actions --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    """Put the call in the engine's `queue` (``InteractionArrived``); `recording` is the decision
    to note on the interaction (``consented``/``refused``/``announced``), if one was made."""

    queue: str
    recording: str | None = None


@dataclass(frozen=True)
class AcceptCallback:
    """Submit ``CallbackAccepted``; feed :class:`CallbackConfirmed` or :class:`CallbackRefused` back."""


@dataclass(frozen=True)
class Play:
    """Play the prompts named (one after the other, as one) once, to the end."""

    prompts: tuple[str, ...]


@dataclass(frozen=True)
class Wait:
    """Wait this long for a digit, then feed :class:`Timeout`."""

    seconds: float


@dataclass(frozen=True)
class Music:
    """Music on hold (until something else plays)."""


@dataclass(frozen=True)
class Announce:
    """Say the call's position in line and the expected wait (the SIP service reads them live)."""


@dataclass(frozen=True)
class Hangup:
    """End the call from our side (not an abandon: the engine knows why)."""


Action = Route | AcceptCallback | Play | Wait | Music | Announce | Hangup
CONTROL = (Route, AcceptCallback)

# Prompt names (centrale.telephony.prompts has their words and files).
GREETING, MENU, INVALID, NOTICE, CONSENT = "greeting", "menu", "invalid", "notice", "consent"
CALLBACK_OFFER, CALLBACK_CONFIRMED = "callback_offer", "callback_confirmed"
PROMPTS = (GREETING, MENU, INVALID, NOTICE, CONSENT, CALLBACK_OFFER, CALLBACK_CONFIRMED)


class CallerFlow:
    """One call's flow; see the module's theory of operation."""

    def __init__(self, config: FlowConfig) -> None:
        if config.tries < 1:
            raise ValueError("tries must be at least 1")
        self.config = config
        self.state = FlowState.NEW
        self.tries = 0  # prompts of the current question heard so far
        self.choice: Choice | None = None
        self.recording: str | None = None  # the decision noted on the interaction
        self.digits: list[str] = []  # every digit heard, for the log

    def handle(self, event: Input) -> list[Action]:
        """Feed one input; return the actions to carry out. Raises :class:`IvrError` (state unchanged)
        for an input the state does not accept."""
        handler = _TRANSITIONS.get((self.state, type(event)))
        if handler is None:
            raise IvrError(
                "ivr.illegal_input", f"{type(event).__name__} is not accepted in state {self.state}"
            )
        if isinstance(event, Digit):
            if event.digit not in DIGITS:
                raise IvrError("ivr.bad_digit", f"{event.digit!r} is not a keypad digit")
            self.digits.append(event.digit)
        return handler(self, event)

    # --- transitions ------------------------------------------------------------------------------
    def _begin(self, _: Input) -> list[Action]:
        lead = (GREETING,) if self.config.greeting else ()
        if not self.config.menu:
            return self._choose(self.config.default, lead)
        self.state = FlowState.MENU
        self.tries = 1
        return [Play((*lead, MENU)), Wait(self.config.input_timeout)]

    def _menu_digit(self, event: Input) -> list[Action]:
        assert isinstance(event, Digit)
        choice = self.config.menu.get(event.digit)
        if choice is not None:
            return self._choose(choice, ())
        return self._menu_again((INVALID, MENU))

    def _menu_timeout(self, _: Input) -> list[Action]:
        return self._menu_again((MENU,))

    def _menu_again(self, prompts: tuple[str, ...]) -> list[Action]:
        if self.tries >= self.config.tries:
            return self._choose(self.config.default, (INVALID,) if prompts[0] == INVALID else ())
        self.tries += 1
        return [Play(prompts), Wait(self.config.input_timeout)]

    def _choose(self, choice: Choice, lead: tuple[str, ...]) -> list[Action]:
        self.choice = choice
        if choice.callback:
            self.state = FlowState.ACCEPTING
            return [Route(choice.queue), AcceptCallback()]
        mode = self.config.recording.get(choice.queue, "on")
        if mode == "announce":
            self.state = FlowState.NOTICE
            self.recording = "announced"
            return [Play((*lead, NOTICE)), Wait(0.0)]
        if mode == "consent":
            self.state = FlowState.CONSENT
            self.tries = 1
            return [Play((*lead, CONSENT)), Wait(self.config.input_timeout)]
        if lead:  # a greeting before the queue, and nothing to ask: hear it out, then queue
            self.state = FlowState.NOTICE
            return [Play(lead), Wait(0.0)]
        return self._queue()

    def _queue(self) -> list[Action]:
        assert self.choice is not None
        self.state = FlowState.QUEUED
        return [Route(self.choice.queue, self.recording), Music()]

    def _notice_done(self, _: Input) -> list[Action]:
        return self._queue()

    def _consent_digit(self, event: Input) -> list[Action]:
        assert isinstance(event, Digit)
        if event.digit in ("1", "2"):
            self.recording = "consented" if event.digit == "1" else "refused"
            return self._queue()
        return self._consent_again((INVALID, CONSENT))

    def _consent_timeout(self, _: Input) -> list[Action]:
        return self._consent_again((CONSENT,))

    def _consent_again(self, prompts: tuple[str, ...]) -> list[Action]:
        if self.tries >= self.config.tries:
            self.recording = "refused"  # no answer is no consent
            return self._queue()
        self.tries += 1
        return [Play(prompts), Wait(self.config.input_timeout)]

    def _offered(self, _: Input) -> list[Action]:
        self.state = FlowState.OFFERED
        return [Play((CALLBACK_OFFER,)), Wait(self.config.input_timeout)]

    def _offer_digit(self, event: Input) -> list[Action]:
        assert isinstance(event, Digit)
        if event.digit == "1":
            self.state = FlowState.ACCEPTING
            return [AcceptCallback()]
        self.state = FlowState.QUEUED
        return [Music()]

    def _offer_timeout(self, _: Input) -> list[Action]:
        self.state = FlowState.QUEUED
        return [Music()]

    def _announce(self, _: Input) -> list[Action]:
        return [Announce(), Music()]

    def _confirmed(self, _: Input) -> list[Action]:
        self.state = FlowState.DONE
        return [Play((CALLBACK_CONFIRMED,)), Hangup()]

    def _refused(self, _: Input) -> list[Action]:
        self.state = FlowState.QUEUED
        return [Music()]

    def _bridged(self, _: Input) -> list[Action]:
        self.state = FlowState.DONE
        return []

    def _nothing(self, _: Input) -> list[Action]:
        return []


S = FlowState
_Handler = Callable[[CallerFlow, Input], list[Action]]
_TRANSITIONS: dict[tuple[FlowState, type], _Handler] = {
    (S.NEW, Begin): CallerFlow._begin,
    (S.MENU, Digit): CallerFlow._menu_digit,
    (S.MENU, Timeout): CallerFlow._menu_timeout,
    (S.NOTICE, Timeout): CallerFlow._notice_done,
    (S.NOTICE, Digit): CallerFlow._nothing,
    (S.CONSENT, Digit): CallerFlow._consent_digit,
    (S.CONSENT, Timeout): CallerFlow._consent_timeout,
    (S.QUEUED, Digit): CallerFlow._nothing,
    (S.QUEUED, CallbackOffered): CallerFlow._offered,
    (S.QUEUED, AnnounceDue): CallerFlow._announce,
    (S.QUEUED, Bridged): CallerFlow._bridged,
    (S.OFFERED, Digit): CallerFlow._offer_digit,
    (S.OFFERED, Timeout): CallerFlow._offer_timeout,
    (S.OFFERED, CallbackOffered): CallerFlow._nothing,
    (S.OFFERED, AnnounceDue): CallerFlow._nothing,
    (S.OFFERED, Bridged): CallerFlow._bridged,
    (S.ACCEPTING, CallbackConfirmed): CallerFlow._confirmed,
    (S.ACCEPTING, CallbackRefused): CallerFlow._refused,
    (S.ACCEPTING, Digit): CallerFlow._nothing,
    (S.ACCEPTING, CallbackOffered): CallerFlow._nothing,
    (S.ACCEPTING, AnnounceDue): CallerFlow._nothing,
    (S.ACCEPTING, Bridged): CallerFlow._bridged,
    **{(S.DONE, kind): CallerFlow._nothing for kind in Input.__args__},
}
transitions: Mapping[tuple[FlowState, type], _Handler] = _TRANSITIONS

__all__ = [
    "CONTROL",
    "PROMPTS",
    "AcceptCallback",
    "Action",
    "Announce",
    "AnnounceDue",
    "Begin",
    "Bridged",
    "CallbackConfirmed",
    "CallbackOffered",
    "CallbackRefused",
    "CallerFlow",
    "Choice",
    "Digit",
    "FlowConfig",
    "FlowState",
    "Hangup",
    "Input",
    "IvrError",
    "Music",
    "Play",
    "RecordingMode",
    "Route",
    "Timeout",
    "Wait",
]
