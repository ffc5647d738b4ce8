"""Storage: the persisted event log, configuration tables and migrations (SQLite or PostgreSQL).

``migrate(url)`` creates or upgrades the schema; ``EventStore(url)`` appends batches of logged events
in one transaction each and replays them into a new engine after a restart (``recover``). See
``docs/storage.md``.
"""

from __future__ import annotations

from centrale.storage.errors import CodecError, StorageError
from centrale.storage.eventstore import EventBuffer, EventStore
from centrale.storage.migrator import head_revision, migrate

__all__ = ["CodecError", "EventBuffer", "EventStore", "StorageError", "head_revision", "migrate"]
