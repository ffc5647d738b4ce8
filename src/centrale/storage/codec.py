"""Events to and from JSON: the type name plus the event's fields.

Every event in :mod:`centrale.core.events` is a record (named, read-only fields) of JSON-friendly
values, except the configuration events, which carry one configuration dataclass each, encoded as a
nested object of its fields: ``AgentAdded`` and ``AgentUpdated`` an
:class:`~centrale.core.config.AgentConfig`, ``AccountConfigured`` an ``Account``,
``DispositionConfigured`` a ``Disposition`` and ``QueueConfigured`` a ``QueueConfig``. A queue's
configuration is made JSON-safe on the way: requirement expressions as their text (parsed again,
and so checked, on decoding), enums by value, opening hours as ``{"timezone", "weekly":
{"0": [["08:00", "18:00"]], …}, "closed_dates": ["2026-12-25", …], "always_open"}`` (weekday 0 is
Monday; a time with seconds keeps them, "08:00:30"), the allowed disposition codes as a sorted list,
escalation steps as a list of ``{"after", "action", "requires", "queue", "priority"}``.
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
  changed after a restart;
* a queue configuration decodes to an equal ``QueueConfig`` (the expressions compare by their text)
  whose opening hours are in the shape the scenario builder makes: ``weekly`` a dict of weekday to
  a list of ``(start, end)`` tuples, ``closed_dates`` a frozenset.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from typing import Any, get_args

from centrale.core import events as _events
from centrale.core.config import (
    Account,
    AgentConfig,
    AgentSelection,
    Disposition,
    EscalationAction,
    EscalationStep,
    OpeningHours,
    QueueConfig,
    WrapUp,
    WrapUpMode,
)
from centrale.core.errors import ConfigError
from centrale.core.events import (
    AccountConfigured,
    AgentAdded,
    AgentUpdated,
    DispositionConfigured,
    Event,
    QueueConfigured,
)
from centrale.core.expressions import Expression
from centrale.core.expressions import parse as parse_expression
from centrale.core.record import Record
from centrale.storage.errors import CodecError

EVENT_TYPES: dict[str, type[Any]] = {cls.__name__: cls for cls in get_args(Event)}
"""Every event type the engine knows, by name (the ``type`` column)."""

_FIELDS: dict[type[Any], tuple[str, ...]] = {cls: tuple(cls._fields) for cls in EVENT_TYPES.values()}

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
    nested = _NESTED.get(cls)
    if nested is not None:
        field, encode_value, _ = nested
        return name, {field: encode_value(getattr(event, field), f"{name}.{field}")}
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
    nested = _NESTED.get(cls)
    if nested is not None:
        field, _, decode_value = nested
        if field not in payload:
            raise CodecError(f"{type_name}: missing field {field}")
        return cls(decode_value(payload[field], f"{type_name}.{field}"))
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


def _an(cls: type[Any]) -> str:
    return ("an " if cls.__name__[0] in "AEIOU" else "a ") + cls.__name__


def _field_names(cls: type[Any]) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def _required(cls: type[Any]) -> frozenset[str]:
    return frozenset(
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )


def _object(data: Any, cls: type[Any], where: str) -> dict[str, Any]:
    """The fields of a nested object for `cls`, checked for unknown and missing names."""
    if not isinstance(data, Mapping):
        raise CodecError(f"{where} must be a JSON object, not {type(data).__name__}")
    unknown = set(data) - set(_field_names(cls))
    if unknown:
        raise CodecError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    missing = _required(cls) - set(data)
    if missing:
        raise CodecError(f"{where}: missing field(s) {', '.join(sorted(missing))}")
    return dict(data)


def _encode_flat(value: Any, cls: type[Any], where: str) -> dict[str, Any]:
    """A dataclass of JSON values (AgentConfig, Account, Disposition) as an object of its fields."""
    if not isinstance(value, cls):
        raise CodecError(f"{where} must be {_an(cls)}, not {type(value).__name__}")
    out: dict[str, Any] = {}
    for name in _field_names(cls):
        item = getattr(value, name)
        if isinstance(item, Mapping) and not isinstance(item, dict):
            item = dict(item)  # skills/capacity are Mappings (may be read-only proxies)
        _check_json(item, f"{where}.{name}")
        out[name] = item
    return out


def _flat(cls: type[Any]) -> tuple[Callable[[Any, str], Any], Callable[[Any, str], Any]]:
    def encode_value(value: Any, where: str) -> Any:
        return _encode_flat(value, cls, where)

    def decode_value(data: Any, where: str) -> Any:
        return cls(**_object(data, cls, where))

    return encode_value, decode_value


# --- queue configurations ---------------------------------------------------------------------------


def _encode_expression(expr: Any, where: str) -> str:
    if not isinstance(expr, Expression):
        raise CodecError(f"{where} must be a parsed Expression, not {type(expr).__name__}")
    return expr.text


def _decode_expression(text: Any, where: str) -> Expression:
    if not isinstance(text, str):
        raise CodecError(f"{where} must be expression text, not {type(text).__name__}")
    try:
        # No skill list: which skills exist is the engine's business (it checks them when
        # configured); decoding only rebuilds what was accepted before.
        return parse_expression(text, where=where)
    except ConfigError as exc:
        raise CodecError(f"{where}: {exc.message}") from None


def _encode_enum(value: Any, kind: type[enum.Enum], where: str) -> Any:
    if not isinstance(value, kind):
        raise CodecError(f"{where} must be {_an(kind)}, not {type(value).__name__}")
    return value.value


def _decode_enum(value: Any, kind: type[enum.Enum], where: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in kind)
        raise CodecError(f"{where}: {value!r} is not one of {allowed}") from None


def _encode_time(t: Any, where: str) -> str:
    if not isinstance(t, time) or t.tzinfo is not None:
        raise CodecError(f"{where} must be a local time (datetime.time without tzinfo), not {t!r}")
    return t.strftime("%H:%M") if t.second == 0 and t.microsecond == 0 else t.isoformat()


def _decode_time(text: Any, where: str) -> time:
    try:
        t = time.fromisoformat(text)
    except (TypeError, ValueError):
        raise CodecError(f"{where}: expected a time such as '08:00', got {text!r}") from None
    if t.tzinfo is not None:
        raise CodecError(f"{where}: a local time has no UTC offset, got {text!r}")
    return t


def _encode_hours(hours: Any, where: str) -> dict[str, Any]:
    if not isinstance(hours, OpeningHours):
        raise CodecError(f"{where} must be OpeningHours, not {type(hours).__name__}")
    weekly: dict[str, Any] = {}
    for day, spans in sorted(hours.weekly.items()):
        if type(day) is not int:
            raise CodecError(f"{where}.weekly: weekday {day!r} is not an int (0 = Monday)")
        w = f"{where}.weekly.{day}"
        try:
            weekly[str(day)] = [[_encode_time(a, w), _encode_time(b, w)] for a, b in spans]
        except (TypeError, ValueError):
            raise CodecError(f"{w}: expected (start, end) pairs, got {spans!r}") from None
    closed: list[str] = []
    for d in hours.closed_dates:
        if not isinstance(d, date) or isinstance(d, datetime):
            raise CodecError(f"{where}.closed_dates: {d!r} is not a date")
        closed.append(d.isoformat())
    out = {
        "timezone": hours.timezone,
        "weekly": weekly,
        "closed_dates": sorted(closed),
        "always_open": hours.always_open,
    }
    _check_json(out, where)
    return out


_WEEKDAYS = ("0", "1", "2", "3", "4", "5", "6")


def _decode_hours(data: Any, where: str) -> OpeningHours:
    fields = _object(data, OpeningHours, where)
    weekly_in = fields.get("weekly")
    if not isinstance(weekly_in, Mapping):
        raise CodecError(f"{where}.weekly must be a JSON object of weekday to spans")
    weekly: dict[int, list[tuple[time, time]]] = {}
    for key, spans in weekly_in.items():
        w = f"{where}.weekly.{key}"
        if key not in _WEEKDAYS:
            raise CodecError(f"{w}: a weekday is 0 (Monday) to 6")
        if not isinstance(spans, list) or not all(isinstance(p, list) and len(p) == 2 for p in spans):
            raise CodecError(f"{w}: expected a list of [start, end] pairs")
        weekly[int(key)] = [(_decode_time(a, w), _decode_time(b, w)) for a, b in spans]
    fields["weekly"] = weekly
    if "closed_dates" in fields:
        closed = fields["closed_dates"]
        if not isinstance(closed, list):
            raise CodecError(f"{where}.closed_dates must be a list of dates")
        try:
            fields["closed_dates"] = frozenset(date.fromisoformat(d) for d in closed)
        except (TypeError, ValueError):
            raise CodecError(f"{where}.closed_dates: expected dates such as '2026-12-25'") from None
    return OpeningHours(**fields)


def _encode_wrap_up(wrap: Any, where: str) -> dict[str, Any]:
    if not isinstance(wrap, WrapUp):
        raise CodecError(f"{where} must be a WrapUp, not {type(wrap).__name__}")
    out = {"mode": _encode_enum(wrap.mode, WrapUpMode, where + ".mode"), "seconds": wrap.seconds}
    _check_json(out, where)
    return out


def _decode_wrap_up(data: Any, where: str) -> WrapUp:
    fields = _object(data, WrapUp, where)
    if "mode" in fields:
        fields["mode"] = _decode_enum(fields["mode"], WrapUpMode, where + ".mode")
    return WrapUp(**fields)


def _encode_escalation(steps: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(steps, tuple | list):
        raise CodecError(f"{where} must be a tuple of EscalationStep, not {type(steps).__name__}")
    out = []
    for i, step in enumerate(steps):
        w = f"{where}[{i}]"
        if not isinstance(step, EscalationStep):
            raise CodecError(f"{w} must be an EscalationStep, not {type(step).__name__}")
        item = {
            "after": step.after,
            "action": _encode_enum(step.action, EscalationAction, w + ".action"),
            "requires": None if step.requires is None else _encode_expression(step.requires, w + ".requires"),
            "queue": step.queue,
            "priority": step.priority,
        }
        _check_json(item, w)
        out.append(item)
    return out


def _decode_escalation(data: Any, where: str) -> tuple[EscalationStep, ...]:
    if not isinstance(data, list):
        raise CodecError(f"{where} must be a list of steps")
    steps = []
    for i, item in enumerate(data):
        w = f"{where}[{i}]"
        fields = _object(item, EscalationStep, w)
        fields["action"] = _decode_enum(fields["action"], EscalationAction, w + ".action")
        if fields.get("requires") is not None:
            fields["requires"] = _decode_expression(fields["requires"], w + ".requires")
        steps.append(EscalationStep(**fields))
    return tuple(steps)


def _encode_codes(codes: Any, where: str) -> list[str] | None:
    if codes is None:
        return None
    if not isinstance(codes, frozenset | set) or not all(type(c) is str for c in codes):
        raise CodecError(f"{where} must be None or a frozenset of codes, not {codes!r:.60}")
    return sorted(codes)


def _decode_codes(data: Any, where: str) -> frozenset[str] | None:
    if data is None:
        return None
    if not isinstance(data, list) or not all(isinstance(c, str) for c in data):
        raise CodecError(f"{where} must be null or a list of codes")
    return frozenset(data)


def _encode_selection(value: Any, where: str) -> Any:
    return _encode_enum(value, AgentSelection, where)


def _decode_selection(value: Any, where: str) -> Any:
    return _decode_enum(value, AgentSelection, where)


# QueueConfig fields that are not JSON values as they are: (encode, decode). The rest are checked
# with `_check_json` and written as they are.
_QUEUE_SPECIAL: dict[str, tuple[Callable[[Any, str], Any], Callable[[Any, str], Any]]] = {
    "requires": (_encode_expression, _decode_expression),
    "hours": (_encode_hours, _decode_hours),
    "wrap_up": (_encode_wrap_up, _decode_wrap_up),
    "dispositions": (_encode_codes, _decode_codes),
    "escalation": (_encode_escalation, _decode_escalation),
    "agent_selection": (_encode_selection, _decode_selection),
}


def _encode_queue_config(qc: Any, where: str) -> dict[str, Any]:
    if not isinstance(qc, QueueConfig):
        raise CodecError(f"{where} must be a QueueConfig, not {type(qc).__name__}")
    out: dict[str, Any] = {}
    for name in _field_names(QueueConfig):
        value = getattr(qc, name)
        special = _QUEUE_SPECIAL.get(name)
        if special is not None:
            out[name] = special[0](value, f"{where}.{name}")
        else:
            _check_json(value, f"{where}.{name}")
            out[name] = value
    return out


def _decode_queue_config(data: Any, where: str) -> QueueConfig:
    fields = _object(data, QueueConfig, where)
    for name, value in fields.items():
        special = _QUEUE_SPECIAL.get(name)
        if special is not None:
            fields[name] = special[1](value, f"{where}.{name}")
    return QueueConfig(**fields)


_AGENT_CODEC = _flat(AgentConfig)
_NESTED: dict[type[Any], tuple[str, Callable[[Any, str], Any], Callable[[Any, str], Any]]] = {
    AgentAdded: ("config", *_AGENT_CODEC),
    AgentUpdated: ("config", *_AGENT_CODEC),
    AccountConfigured: ("account", *_flat(Account)),
    DispositionConfigured: ("disposition", *_flat(Disposition)),
    QueueConfigured: ("config", _encode_queue_config, _decode_queue_config),
}
"""Events whose one field is a configuration dataclass: (field, encode, decode)."""


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
