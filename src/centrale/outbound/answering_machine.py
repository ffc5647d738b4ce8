"""What a campaign does when an answering machine (or voicemail) picks up: its ``answering_machine`` setting.

* ``hang_up`` (the default): the dial ends as outcome ``machine``, retried by ``retry.machine``.
* ``leave_message``: the trunk plays ``message`` to the machine, then hangs up; the dial ends as
  outcome ``machine_message``, which settles the lead (done) unless ``retry`` is true (then it is
  retried by ``retry.machine``, like a hang-up).
* ``pass_to_agent``: the call goes to the campaign's queue like an answered one, marked
  ``machine: true``, so an agent leaves a personal message; the agent's disposition settles the lead.

A recorded message left by the dialer is an automated call with recorded content, which the three
presets' laws allow only with the called person's prior consent (:data:`RECORDED_MESSAGE_LAW`). So
a message is left only for a lead whose consent covers the campaign (the consent registry or the
contact's own consent columns); for any other lead the campaign hangs up as with ``hang_up`` and the
lead's reason says why. The consent record must be the kind the law asks for (in the US the
*express written* agreement of 16 CFR 310.4(b)(1)(v)): the campaign cannot see that, the list can.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class MachineAction(StrEnum):
    HANG_UP = "hang_up"
    """End the call; outcome ``machine``, retried by the machine rule (the behaviour before this setting)."""
    LEAVE_MESSAGE = "leave_message"
    """Play the recorded message to the machine, then hang up; outcome ``machine_message``."""
    PASS_TO_AGENT = "pass_to_agent"
    """Queue the call for an agent (``machine: true``), who leaves a message and gives a disposition."""


@dataclass(frozen=True, slots=True)
class AnsweringMachine:
    """A campaign's answering-machine handling (``answering_machine`` in the settings file)."""

    action: MachineAction = MachineAction.HANG_UP
    message: str = ""
    """What the trunk plays (``leave_message``): the text, or the file name of the recording."""
    retry: bool = False
    """``leave_message`` only: dial the lead again (``retry.machine``) after a message was left."""

    def __post_init__(self) -> None:
        if self.action is MachineAction.LEAVE_MESSAGE and not self.message.strip():
            raise ValueError("action leave_message needs the message to play")
        if self.action is not MachineAction.LEAVE_MESSAGE and (self.message or self.retry):
            raise ValueError(f"message and retry are only for action leave_message (action is {self.action})")


@dataclass(frozen=True, slots=True)
class MachineHandling:
    """What to do with one machine answer, decided by :meth:`Campaign.machine_handling`."""

    lead_id: str
    action: MachineAction
    message: str = ""
    """The message to play (``leave_message``)."""
    reason: str = ""
    """Why a configured ``leave_message`` became ``hang_up`` for this lead (no consent), else ""."""


RECORDED_MESSAGE_LAW = {
    "NL": "Telecommunicatiewet art. 11.7(1): automated calling systems without human intervention "
    "need the subscriber's prior consent",
    "GB": "PECR 2003 reg. 19: recorded direct-marketing calls by an automated calling system need "
    "the subscriber's prior consent",
    "US": "16 CFR 310.4(b)(1)(v) and 47 CFR 64.1200(a)(2)-(3): prerecorded telemarketing messages need "
    "the called person's express written agreement",
}
"""The law behind the consent a recorded message needs, by preset jurisdiction."""


def recorded_message_law(jurisdiction: str) -> str:
    """The rule a recorded answering-machine message must respect in ``jurisdiction``."""
    return RECORDED_MESSAGE_LAW.get(
        jurisdiction.upper(), "recorded messages need the called person's prior consent in most jurisdictions"
    )
