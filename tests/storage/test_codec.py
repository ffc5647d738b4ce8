"""The codec: every event type round-trips through JSON unchanged; bad input gets a clear error."""

from __future__ import annotations

import ast
import json
import math
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from centrale.core import events as events_module
from centrale.core.config import (
    ALWAYS_OPEN,
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
from centrale.core.eventlog import LoggedEvent
from centrale.core.events import (
    AccountConfigured,
    AgentAdded,
    AgentUpdated,
    CustomerAbandoned,
    DispositionConfigured,
    Event,
    InteractionArrived,
    OfferAccepted,
    QueueConfigured,
    WrapUpCompleted,
)
from centrale.core.expressions import parse
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
accounts = st.builds(Account, id=text, name=text)
dispositions = st.builds(Disposition, code=text, label=text, category=text, account=st.none() | text)
finite = st.floats(allow_nan=False, allow_infinity=False)
expressions = st.sampled_from(
    [
        "true",
        "sales >= 5",
        "sales >= 3 and (nl >= 3 or en >= 7)",
        'skill[task.language] >= 6 and agent.site == "amsterdam"',
        'support >= 1 and task.segment in ["gold", "platinum"]',
        "not sales >= 1",
    ]
).map(parse)
opening_hours = st.builds(
    OpeningHours,
    timezone=st.sampled_from(["UTC", "Europe/Amsterdam", "America/New_York"]),
    # Lists of (start, end) tuples: the shape the scenario builder makes and the codec decodes to.
    weekly=st.dictionaries(
        st.integers(min_value=0, max_value=6), st.lists(st.tuples(st.times(), st.times()), max_size=3)
    ),
    closed_dates=st.frozensets(st.dates(), max_size=4),
    always_open=st.booleans(),
)
escalation_steps = st.builds(
    EscalationStep,
    after=finite,
    action=st.sampled_from(EscalationAction),
    requires=st.none() | expressions,
    queue=st.none() | text,
    priority=st.none() | st.integers(),
)
queue_configs = st.builds(
    QueueConfig,
    id=text,
    account=text,
    channel=text,
    requires=expressions,
    name=text,
    direction=text,
    priority=st.integers(),
    sl_target=finite,
    sl_threshold=finite,
    short_abandon=finite,
    hours=st.just(ALWAYS_OPEN) | opening_hours,
    max_length=st.none() | st.integers(),
    max_wait=st.none() | finite,
    wrap_up=st.builds(WrapUp, mode=st.sampled_from(WrapUpMode), seconds=finite),
    require_disposition=st.booleans(),
    dispositions=st.none() | st.frozensets(text, max_size=4),
    escalation=st.lists(escalation_steps, max_size=3).map(tuple),
    agent_selection=st.sampled_from(AgentSelection),
    offer_timeout=finite,
    overflow_to=st.none() | text,
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
    "Account": accounts,
    "Disposition": dispositions,
    "QueueConfig": queue_configs,
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
        ("Nonsense", {}, "unknown event type 'Nonsense'; known types: AccountConfigured, AgentAdded"),
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


# --- configuration events ----------------------------------------------------------------------------

SALES = QueueConfig(
    id="sales",
    account="acme",
    channel="voice",
    requires=parse("sales >= 5 and skill[task.language] >= 3"),
    name="Sales",
    priority=1,
    sl_threshold=30.0,
    hours=OpeningHours(
        "Europe/Amsterdam",
        {0: [(time(8), time(18))], 5: [(time(10), time(12, 30)), (time(22), time(2, 0, 30))]},
        closed_dates=frozenset({date(2026, 12, 25), date(2026, 1, 1)}),
    ),
    max_wait=600.0,
    wrap_up=WrapUp(WrapUpMode.AGENT, 120.0),
    require_disposition=True,
    dispositions=frozenset({"sale", "no_sale"}),
    escalation=(
        EscalationStep(20.0, EscalationAction.REQUIRE, requires=parse("sales >= 1")),
        EscalationStep(40.0, EscalationAction.ADD_QUEUE, queue="service"),
        EscalationStep(60.0, EscalationAction.PRIORITY, priority=3),
        EscalationStep(90.0, EscalationAction.CALLBACK),
    ),
    agent_selection=AgentSelection.MOST_SKILLED,
    offer_timeout=12.0,
    overflow_to="service",
)


def test_queue_configured_payload_is_plain_json() -> None:
    name, payload = codec.encode(QueueConfigured(SALES))
    assert name == "QueueConfigured"
    assert payload == {
        "config": {
            "id": "sales",
            "account": "acme",
            "channel": "voice",
            "requires": "sales >= 5 and skill[task.language] >= 3",
            "name": "Sales",
            "direction": "inbound",
            "priority": 1,
            "sl_target": 0.8,
            "sl_threshold": 30.0,
            "short_abandon": 5.0,
            "hours": {
                "timezone": "Europe/Amsterdam",
                "weekly": {"0": [["08:00", "18:00"]], "5": [["10:00", "12:30"], ["22:00", "02:00:30"]]},
                "closed_dates": ["2026-01-01", "2026-12-25"],
                "always_open": False,
            },
            "max_length": None,
            "max_wait": 600.0,
            "wrap_up": {"mode": "agent", "seconds": 120.0},
            "require_disposition": True,
            "dispositions": ["no_sale", "sale"],
            "escalation": [
                {
                    "after": 20.0,
                    "action": "require",
                    "requires": "sales >= 1",
                    "queue": None,
                    "priority": None,
                },
                {
                    "after": 40.0,
                    "action": "add_queue",
                    "requires": None,
                    "queue": "service",
                    "priority": None,
                },
                {"after": 60.0, "action": "priority", "requires": None, "queue": None, "priority": 3},
                {"after": 90.0, "action": "callback", "requires": None, "queue": None, "priority": None},
            ],
            "agent_selection": "most_skilled",
            "offer_timeout": 12.0,
            "overflow_to": "service",
        }
    }
    again = codec.decode(name, json.loads(codec.dumps(payload)))
    assert again == QueueConfigured(SALES)
    assert again.config.requires.task_attributes == ("language",)  # parsed again, not just text
    assert again.config.requires.matches(_Agent({"sales": 6, "nl": 3}), {"language": "nl"})


class _Agent:
    def __init__(self, skills: dict[str, int]) -> None:
        self.skills = skills
        self.id = self.team = self.site = self.account = ""


def test_a_minimal_queue_takes_the_defaults() -> None:
    event = codec.decode(
        "QueueConfigured", {"config": {"id": "q", "account": "a", "channel": "chat", "requires": "true"}}
    )
    assert event == QueueConfigured(QueueConfig("q", "a", "chat", parse("true")))
    assert event.config.hours == ALWAYS_OPEN


def test_other_config_events_nest_their_dataclass() -> None:
    for event, payload in [
        (AccountConfigured(Account("acme", "ACME Inc.")), {"account": {"id": "acme", "name": "ACME Inc."}}),
        (
            DispositionConfigured(Disposition("sale", "Sale", "sale", account=None)),
            {"disposition": {"code": "sale", "label": "Sale", "category": "sale", "account": None}},
        ),
        (
            AgentUpdated(AgentConfig("a1", "acme", {"sales": 5}, capacity={"chat": 2}, team="t")),
            {
                "config": {
                    "id": "a1",
                    "account": "acme",
                    "skills": {"sales": 5},
                    "capacity": {"chat": 2},
                    "team": "t",
                    "site": "",
                    "name": "",
                }
            },
        ),
    ]:
        name, encoded = codec.encode(event)
        assert (name, encoded) == (type(event).__name__, payload)
        assert codec.from_json(codec.to_json(event)) == event


@pytest.mark.parametrize("example", ["inhouse.yaml", "outsourcing.yaml", "erlang-a.yaml"])
def test_queues_of_the_example_scenarios_round_trip(example: str) -> None:
    """Queues as the scenario builder makes them (holidays, spans, escalation) come back equal."""
    from centrale.sim.scenario import load_scenario

    root = Path(__file__).resolve().parents[2] / "examples"
    cfg = load_scenario(root / example).engine
    events: list[Any] = [
        *(AccountConfigured(a) for a in cfg.accounts),
        *(DispositionConfigured(d) for d in cfg.dispositions),
        *(QueueConfigured(q) for q in cfg.queues),
    ]
    for event in events:
        assert codec.from_json(codec.to_json(event)) == event


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"id": "q", "account": "a", "channel": "voice"},
            "QueueConfigured.config: missing field(s) requires",
        ),
        ({"id": "q", "account": "a", "channel": "voice", "requires": "true", "colour": 1}, "field(s) colour"),
        ({"id": "q", "account": "a", "channel": "voice", "requires": "sales >>= 3"}, "cannot parse"),
        ({"id": "q", "account": "a", "channel": "voice", "requires": 3}, "must be expression text"),
        (
            {"id": "q", "account": "a", "channel": "voice", "requires": "true", "agent_selection": "random"},
            "'random' is not one of longest_idle",
        ),
        (
            {"id": "q", "account": "a", "channel": "voice", "requires": "true", "wrap_up": {"mode": "x"}},
            "wrap_up.mode: 'x' is not one of",
        ),
        (
            {"id": "q", "account": "a", "channel": "voice", "requires": "true", "hours": {"timezone": "UTC"}},
            "hours: missing field(s) weekly",
        ),
        (
            {
                "id": "q",
                "account": "a",
                "channel": "voice",
                "requires": "true",
                "hours": {"timezone": "UTC", "weekly": {"7": []}},
            },
            "a weekday is 0 (Monday) to 6",
        ),
        (
            {
                "id": "q",
                "account": "a",
                "channel": "voice",
                "requires": "true",
                "hours": {"timezone": "UTC", "weekly": {"0": [["8 o'clock", "17:00"]]}},
            },
            "expected a time such as '08:00'",
        ),
        (
            {
                "id": "q",
                "account": "a",
                "channel": "voice",
                "requires": "true",
                "hours": {"timezone": "UTC", "weekly": {}, "closed_dates": ["christmas"]},
            },
            "closed_dates: expected dates",
        ),
        (
            {"id": "q", "account": "a", "channel": "voice", "requires": "true", "escalation": [{"after": 1}]},
            "escalation[0]: missing field(s) action",
        ),
        (
            {
                "id": "q",
                "account": "a",
                "channel": "voice",
                "requires": "true",
                "escalation": [{"after": 1, "action": "require", "requires": "task."}],
            },
            "escalation[0].requires",
        ),
        (
            {"id": "q", "account": "a", "channel": "voice", "requires": "true", "dispositions": "sale"},
            "must be null or a list of codes",
        ),
    ],
)
def test_queue_decoding_errors(config: dict[str, Any], message: str) -> None:
    with pytest.raises(CodecError) as info:
        codec.decode("QueueConfigured", {"config": config})
    assert message in str(info.value)


def _queue(**kw: Any) -> QueueConfigured:
    return QueueConfigured(QueueConfig("q", "a", "voice", parse("true"), **kw))


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (_queue(sl_threshold=math.nan), "QueueConfigured.config.sl_threshold"),
        (
            _queue(hours=OpeningHours("UTC", {0: [(time(8, tzinfo=UTC), time(9))]})),
            "must be a local time",
        ),
        (_queue(hours=OpeningHours("UTC", {"mon": [(time(8), time(9))]})), "weekday 'mon' is not an int"),
        (
            _queue(hours=OpeningHours("UTC", {}, closed_dates=frozenset({datetime(2026, 1, 1)}))),
            "is not a date",
        ),
        (_queue(dispositions=frozenset({1})), "must be None or a frozenset of codes"),
    ],
)
def test_config_encoding_errors(event: Any, message: str) -> None:
    with pytest.raises(CodecError) as info:
        codec.encode(event)
    assert message in str(info.value)


def test_config_values_must_be_json() -> None:
    """The compiled Account refuses a wrong type when built; a pure-Python one is refused by the codec."""
    try:
        account = Account("a", name=("x",))  # type: ignore[arg-type]
    except TypeError:
        return
    with pytest.raises(CodecError, match=r"AccountConfigured\.account\.name"):
        codec.encode(AccountConfigured(account))
