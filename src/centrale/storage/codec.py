"""Events to and from JSON: the type name plus the event's fields.

Every event in :mod:`centrale.core.events` is a record (named, read-only fields) of JSON-friendly
values; ``AgentAdded``
carries an :class:`~centrale.core.config.AgentConfig` dataclass, encoded as an object of its fields.
The stored form is ``(type, payload)`` — the event table has a ``type`` column and a ``payload``
column — and :func:`to_json` / :func:`from_json` give the same thing as one JSON object
(``{"type": "OfferAccepted", "interaction": "i1", "agent": "a1"}``) for logs and wire formats.

Rules, chosen so that ``decode(encode(e)) == e`` for every event the engine can accept:

* every field is written, defaults included, so a stored event never depends on today's defaults;
* on decoding, a field that is missing takes its default (an event type that gained a field with a
  default still reads old rows), but a field that is unknown is an error — silently dropping data
  written by a newer version would be worse than refusing it;
* values must be JSON values with nothing lost on the way back: str, int, float (finite), bool,
  None, lists, and dicts with string keys. A tuple, a set, a non-string key or NaN raises
  :class:`CodecError` at encoding time — before anything is written — instead of coming back
  changed after a restart.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Any, get_args

from centrale.core import events as _events
from centrale.core.config import AgentConfig
from centrale.core.events import AgentAdded, Event
from centrale.core.record import Record
from centrale.storage.errors import CodecError

EVENT_TYPES: dict[str, type[Any]] = {cls.__name__: cls for cls in get_args(Event)}
"""Every event type the engine knows, by name (the ``type`` column)."""

_FIELDS: dict[type[Any], tuple[str, ...]] = {cls: tuple(cls._fields) for cls in EVENT_TYPES.values()}
_AGENT_CONFIG_FIELDS = tuple(f.name for f in dataclasses.fields(AgentConfig))
_AGENT_CONFIG_REQUIRED = frozenset(
    f.name
    for f in dataclasses.fields(AgentConfig)
    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
)

# `to_json` puts the type next to the fields; no event may have a field called "type".
assert all("type" not in fields for fields in _FIELDS.values()), "an event field is called 'type'"
# The union in events.py must name every event class defined there (a new one is easy to forget).
assert {
    name
    for name, value in vars(_events).items()
    if isinstance(value, type) and issubclass(value, Record) and value.__module__ == _events.__name__
} == set(EVENT_TYPES), "centrale.core.events.Event does not list every event class"

_DUMPS = json.JSONEncoder(ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode
# ensure_ascii: the text is plain ASCII, so a NUL or a lone surrogate inside a string is an escape
# sequence both databases store as is (PostgreSQL text refuses a raw NUL byte).


def encode(event: Any) -> tuple[str, dict[str, Any]]:
    """``(type name, fields)`` for `event`; the fields are JSON values (see the module docstring)."""
    cls = type(event)
    name = cls.__name__
    if EVENT_TYPES.get(name) is not cls:
        raise CodecError(f"cannot encode {cls.__module__}.{cls.__qualname__}: not a centrale event type")
    if cls is AgentAdded:
        return name, {"config": _encode_agent_config(event.config)}
    payload = event._asdict()
    for key, value in payload.items():
        if not (value is None or type(value) is str):  # the common case, checked first for speed
            _check_json(value, f"{name}.{key}")
    return name, payload


def decode(type_name: str, payload: Mapping[str, Any]) -> Any:
    """The event of type `type_name` with the fields in `payload`."""
    cls = EVENT_TYPES.get(type_name)
    if cls is None:
        raise CodecError(f"unknown event type {type_name!r}; known types: {', '.join(sorted(EVENT_TYPES))}")
    if not isinstance(payload, Mapping):
        raise CodecError(f"{type_name}: payload must be a JSON object, not {type(payload).__name__}")
    unknown = set(payload) - set(_FIELDS[cls])
    if unknown:
        raise CodecError(f"{type_name}: unknown field(s) {', '.join(sorted(unknown))}")
    if cls is AgentAdded:
        if "config" not in payload:
            raise CodecError("AgentAdded: missing field config")
        return AgentAdded(_decode_agent_config(payload["config"]))
    try:
        return cls(**payload)
    except TypeError as exc:  # a required field is missing
        raise CodecError(f"{type_name}: {exc}") from exc


def dumps(payload: Mapping[str, Any]) -> str:
    """Compact, ASCII-only JSON text of an encoded payload (what is stored)."""
    try:
        return _DUMPS(payload)
    except (TypeError, ValueError) as exc:
        raise CodecError(f"payload is not JSON: {exc}") from exc


def to_json(event: Any) -> str:
    """One JSON object: ``{"type": name, **fields}``."""
    name, payload = encode(event)
    return dumps({"type": name, **payload})


def from_json(text: str | bytes) -> Any:
    """The event in a JSON object written by :func:`to_json`."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CodecError(f"not JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise CodecError('an event is a JSON object with a string "type"')
    type_name = data.pop("type")
    return decode(type_name, data)


# --- helpers ---------------------------------------------------------------------------------------


def _encode_agent_config(config: Any) -> dict[str, Any]:
    if not isinstance(config, AgentConfig):
        raise CodecError(f"AgentAdded.config must be an AgentConfig, not {type(config).__name__}")
    out: dict[str, Any] = {}
    for name in _AGENT_CONFIG_FIELDS:
        value = getattr(config, name)
        if isinstance(value, Mapping) and not isinstance(value, dict):
            value = dict(value)  # skills/capacity are Mappings (may be read-only proxies)
        _check_json(value, f"AgentAdded.config.{name}")
        out[name] = value
    return out


def _decode_agent_config(data: Any) -> AgentConfig:
    if not isinstance(data, Mapping):
        raise CodecError(f"AgentAdded.config must be a JSON object, not {type(data).__name__}")
    unknown = set(data) - set(_AGENT_CONFIG_FIELDS)
    if unknown:
        raise CodecError(f"AgentAdded.config: unknown field(s) {', '.join(sorted(unknown))}")
    missing = _AGENT_CONFIG_REQUIRED - set(data)
    if missing:
        raise CodecError(f"AgentAdded.config: missing field(s) {', '.join(sorted(missing))}")
    return AgentConfig(**data)


def _check_json(value: Any, where: str) -> None:
    """Raise CodecError unless `value` survives a JSON round trip unchanged."""
    kind = type(value)
    if value is None or kind is str or kind is bool or kind is int:
        return
    if kind is float:
        if not math.isfinite(value):
            raise CodecError(f"{where}: {value!r} is not a finite number")
        return
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise CodecError(f"{where}: dict key {key!r} is not a string")
            _check_json(item, f"{where}.{key}")
        return
    if kind is list:
        for i, item in enumerate(value):
            _check_json(item, f"{where}[{i}]")
        return
    raise CodecError(
        f"{where}: {kind.__name__} {value!r:.60} is not a JSON value "
        "(use str, int, float, bool, None, list or dict with string keys)"
    )
