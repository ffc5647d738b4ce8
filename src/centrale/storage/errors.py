"""Errors raised at the storage boundary.

Everything the storage layer lets escape is a :class:`StorageError` whose message names the database
(password hidden) and the problem in one line, so a command line or the live server can print it as
it is. The driver's own exception stays attached as ``__cause__`` for debugging.
"""

from __future__ import annotations


class StorageError(Exception):
    """A storage problem: bad URL, unreachable database, missing schema, refused write, …"""

    def __init__(self, url: str, problem: str) -> None:
        super().__init__(f"{url}: {problem}" if url else problem)
        self.url = url
        self.problem = problem


class CodecError(StorageError):
    """An event that cannot be encoded to JSON, or a stored payload that cannot be decoded."""

    def __init__(self, problem: str) -> None:
        super().__init__("", problem)
