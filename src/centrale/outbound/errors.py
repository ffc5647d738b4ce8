"""Domain errors of the outbound package.

Every error carries a stable ``code`` so that callers (the CLI, an API) can react to the kind of
problem without parsing the human message, which may change.
"""

from __future__ import annotations


class OutboundError(Exception):
    """Base class of the errors raised by :mod:`centrale.outbound`."""

    code: str = "outbound_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class ListImportError(OutboundError):
    """A contact list cannot be imported at all (header, encoding, file problems).

    Problems with single rows never raise: they end up in the import report.
    """

    code = "list_import_error"

    def __init__(self, source: str, message: str, *, code: str) -> None:
        super().__init__(f"{source}: {message}", code=code)
        self.source = source


class ComplianceConfigError(OutboundError):
    """A preset or a campaign's compliance settings are missing or malformed."""

    code = "compliance_config_error"
