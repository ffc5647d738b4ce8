"""Commands: what the engine asks the outside world to do.

The driver (live server or simulator) carries each one out: ring an agent's phone, bridge a call,
start a timer, play a callback offer. Notifications (state changes, finished interactions) are
commands too, so wallboards, webhooks and storage hear about everything from one place.
"""

from __future__ import annotations

from typing import NamedTuple


class Offer(NamedTuple):
    """Offer an interaction to an agent (ring the phone, pop the chat). Accept within `timeout`."""

    interaction: str
    agent: str
    channel: str
    timeout: float


class Connect(NamedTuple):
    """The agent accepted: bridge the customer and the agent."""

    interaction: str
    agent: str
    channel: str
    queue: str


class RevokeOffer(NamedTuple):
    """Stop ringing the agent (customer gone, or RONA)."""

    interaction: str
    agent: str


class Disconnect(NamedTuple):
    """End the customer's side (closed, queue full, expired, sent to voicemail)."""

    interaction: str
    reason: str


class StartTimer(NamedTuple):
    timer: int
    at: float


class CancelTimer(NamedTuple):
    timer: int


class OfferCallback(NamedTuple):
    """Offer the waiting customer a callback that keeps their place."""

    interaction: str


class SendToVoicemail(NamedTuple):
    interaction: str


class WrapUpStarted(NamedTuple):
    interaction: str
    agent: str
    queue: str
    mode: str  # "fixed" | "agent"
    max_seconds: float


class AgentStateChanged(NamedTuple):
    agent: str
    state: str
    reason: str | None
    at: float


class InteractionQueued(NamedTuple):
    interaction: str
    queue: str
    parent: str | None


class InteractionFinished(NamedTuple):
    """An interaction reached its terminal outcome."""

    interaction: str
    queue: str
    outcome: str
    reason: str | None
    agent: str | None = None
    disposition: str | None = None
    notes: str = ""


Command = (
    Offer
    | Connect
    | RevokeOffer
    | Disconnect
    | StartTimer
    | CancelTimer
    | OfferCallback
    | SendToVoicemail
    | WrapUpStarted
    | AgentStateChanged
    | InteractionQueued
    | InteractionFinished
)
