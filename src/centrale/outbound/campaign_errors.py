"""Errors of outbound campaigns: bad settings files and misuse of a running campaign.

Both carry a stable ``code`` (like every :class:`~centrale.outbound.errors.OutboundError`), so a
CLI or an API reacts to the kind of problem without parsing the message.
"""

from __future__ import annotations

from collections.abc import Mapping

from centrale.outbound.errors import OutboundError


class CampaignConfigError(OutboundError):
    """Campaign settings that cannot be used; ``str()`` reads ``file: field: problem``.

    ``source`` is the file (or ``<campaign>`` for settings built in code), ``where`` the dotted
    path of the field (``retry.busy.delay``, ``lists[1].weight``), ``problem`` the sentence.
    """

    code = "campaign_config_error"

    def __init__(self, source: str, where: str, problem: str) -> None:
        self.source = source
        self.where = where
        self.problem = problem
        super().__init__(f"{source}: {where}: {problem}" if where else f"{source}: {problem}")


class CampaignError(OutboundError):
    """A request a running campaign cannot honour (a lead not in progress, the wrong mode …)."""

    code = "campaign_error"


class FormInvalid(CampaignError):
    """Form values that do not validate; ``errors`` maps each field to its problem."""

    code = "campaign.form_invalid"

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        listed = "; ".join(f"{name}: {problem}" for name, problem in self.errors.items())
        super().__init__(f"the form has errors: {listed}")
