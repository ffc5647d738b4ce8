"""The codec: every event type round-trips through JSON unchanged; bad input gets a clear error."""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from centrale.core import events as events_module
from centrale.core.config import AgentConfig
from centrale.core.eventlog import LoggedEvent
from centrale.core.events import (
    AgentAdded,
    CustomerAbandoned,
    Event,
    InteractionArrived,
    OfferAccepted,
    WrapUpCompleted,
)
from centrale.storage import CodecError, EventStore, codec

text = st.text(max_size=12)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=5)
skill_maps = st.dictionaries(st.text(max_size=8), st.integers(min_value=0, max_value=10), max_size=5)
agent_configs = st.builds(
    AgentConfig,
    id=text,
    account=text,
    skills=skill_maps,
    capacity=skill_maps,
    team=text,
    site=text,
    name=text,
)

# One strategy per annotation used in centrale.core.events. A new field type there makes
# `test_every_event_type_has_a_strategy` fail until it is added here (and to the codec, if needed).
BY_ANNOTATION: dict[str, st.SearchStrategy[Any]] = {
    "str": text,
    "str | None": st.none() | text,
    "int": st.integers(),
    "int | None": st.none() | st.integers(),
    "bool": st.booleans(),
    "dict[str, Any] | None": st.none() | json_objects,
    "dict[str, int]": skill_maps,
    "AgentConfig": agent_configs,
}
EVENT_TYPES = get_args(Event)


def _field_annotations() -> dict[str, dict[str, str]]:
    """Each event class's field types, read from the source of `centrale.core.events`.

    The source, not ``__annotations__``: the compiled (mypyc) classes keep no annotations at run
    time, and the installed package ships the ``.py`` files beside the compiled modules.
    """
    source = Path(events_module.__file__).parent / "events.py"
    out: dict[str, dict[str, str]] = {}
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ClassDef):
            fields: dict[str, str] = {}
            for stmt in node.body:
                if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                    text = ast.unparse(stmt.annotation)
                    if text.startswith("Final[") and text.endswith("]"):
                        text = text[len("Final[") : -1]
                    fields[stmt.target.id] = text
            out[node.name] = fields
    return out


ANNOTATIONS = _field_annotations()


def strategy_for(cls: type) -> st.SearchStrategy[Any]:
    fields = {name: BY_ANNOTATION[a] for name, a in ANNOTATIONS[cls.__name__].items()}
    return st.builds(cls, **fields)


any_event = st.one_of([strategy_for(cls) for cls in EVENT_TYPES])


def test_every_event_type_has_a_strategy() -> None:
    assert set(EVENT_TYPES) == set(codec.EVENT_TYPES.values())
    for cls in EVENT_TYPES:
        assert ANNOTATIONS[cls.__name__], cls.__name__
        for name, annotation in ANNOTATIONS[cls.__name__].items():
            assert annotation in BY_ANNOTATION, f"{cls.__name__}.{name}: {annotation}"


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda c: c.__name__)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_round_trip_every_event_type(cls: type, data: st.DataObject) -> None:
    event = data.draw(strategy_for(cls))
    name, payload = codec.encode(event)
    assert name == cls.__name__
    again = codec.decode(name, json.loads(codec.dumps(payload)))
    assert again == event
    assert type(again) is cls
    assert codec.from_json(codec.to_json(event)) == event


def test_agent_added_nests_the_config() -> None:
    cfg = AgentConfig("a1", "acme", {"sales": 5}, capacity={"voice": 1, "chat": 3}, team="t", site="ams")
    name, payload = codec.encode(AgentAdded(cfg))
    assert name == "AgentAdded"
    assert payload == {
        "config": {
            "id": "a1",
            "account": "acme",
            "skills": {"sales": 5},
            "capacity": {"voice": 1, "chat": 3},
            "team": "t",
            "site": "ams",
            "name": "",
        }
    }
    assert codec.decode(name, payload) == AgentAdded(cfg)


def test_to_json_is_flat_and_ascii() -> None:
    text_ = codec.to_json(OfferAccepted("i1", "agënt"))
    assert text_ == '{"type":"OfferAccepted","interaction":"i1","agent":"ag\\u00ebnt"}'


def test_missing_fields_take_defaults_on_decoding() -> None:
    assert codec.decode("InteractionArrived", {"interaction": "i", "queue": "q"}) == InteractionArrived(
        "i", "q"
    )


@pytest.mark.parametrize(
    ("type_name", "payload", "message"),
    [
        ("Nonsense", {}, "unknown event type 'Nonsense'; known types: AgentAdded"),
        ("OfferAccepted", {"interaction": "i"}, "OfferAccepted: "),
        ("OfferAccepted", {"interaction": "i", "agent": "a", "x": 1}, "unknown field(s) x"),
        ("AgentAdded", {}, "AgentAdded: missing field config"),
        ("AgentAdded", {"config": {"id": "a"}}, "missing field(s) account, skills"),
        ("AgentAdded", {"config": {"id": "a", "account": "b", "skills": {}, "y": 1}}, "unknown field(s) y"),
        ("OfferAccepted", ["i", "a"], "payload must be a JSON object"),
    ],
)
def test_decoding_errors(type_name: str, payload: Any, message: str) -> None:
    with pytest.raises(CodecError) as info:
        codec.decode(type_name, payload)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (InteractionArrived("i", "q", attributes={"tags": ("a", "b")}), "InteractionArrived.attributes.tags"),
        (InteractionArrived("i", "q", attributes={1: "x"}), "dict key 1 is not a string"),
        (InteractionArrived("i", "q", attributes={"x": {"y"}}), "set"),
        (WrapUpCompleted("i", fields={"amount": math.nan}), "not a finite number"),
        (
            AgentAdded(AgentConfig("a", "b", {"s": 1}, capacity={"voice": math.inf})),
            "AgentAdded.config.capacity",
        ),
        (("not", "an", "event"), "not a centrale event type"),
    ],
)
def test_encoding_errors(event: Any, message: str) -> None:
    with pytest.raises(CodecError) as info:
        codec.encode(event)
    assert message in str(info.value)


def test_agent_added_needs_an_agent_config() -> None:
    """The compiled event refuses a wrong type when built; a pure-Python one is refused by the codec."""
    try:
        event = AgentAdded("not a config")  # type: ignore[arg-type]
    except TypeError:
        return
    with pytest.raises(CodecError, match="must be an AgentConfig"):
        codec.encode(event)


def test_from_json_errors() -> None:
    with pytest.raises(CodecError, match="not JSON"):
        codec.from_json("{")
    with pytest.raises(CodecError, match='string "type"'):
        codec.from_json('{"interaction": "i"}')
    with pytest.raises(CodecError, match="unknown event type"):
        codec.from_json('{"type": "Gone"}')
    assert codec.from_json('{"type": "CustomerAbandoned", "interaction": "i"}') == CustomerAbandoned("i")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(any_event, min_size=1, max_size=20), at=st.floats(min_value=0, max_value=1e10))
def test_round_trip_through_the_database(store: EventStore, batch: list[Any], at: float) -> None:
    """What the database gives back (JSON/TEXT column, driver decoding) equals what went in."""
    first = store.last_seq() + 1
    entries = [LoggedEvent(first + i, at + i, event) for i, event in enumerate(batch)]
    store.append(entries)
    assert list(store.read(first)) == entries
