"""Requirement expressions: parsing, evaluation against agents and task attributes, binding, scoring
and the error messages for expressions that cannot work."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from centrale.core.errors import ConfigError
from centrale.core.expressions import parse


@dataclass
class A:
    skills: dict[str, int] = field(default_factory=dict)
    id: str = "a1"
    team: str = "t1"
    site: str = "amsterdam"
    account: str = "acme"


JUNIOR = A({"sales": 3, "nl": 8})
SENIOR = A({"sales": 8, "en": 9, "nl": 2}, id="a2", site="utrecht")


@pytest.mark.parametrize(
    ("text", "junior", "senior"),
    [
        ("sales >= 5", False, True),
        ("sales >= 3", True, True),
        ("sales > 3", False, True),
        ("sales < 5", True, False),
        ("sales <= 3", True, False),
        ("sales == 8", False, True),
        ("sales != 8", True, False),
        ("fr >= 1", False, False),  # a skill the agent lacks is 0
        ("fr == 0", True, True),
        ("sales >= 5 and en >= 7", False, True),
        ("sales >= 5 or nl >= 7", True, True),
        ("not sales >= 5", True, False),
        ("sales >= 5 and (nl >= 3 or en >= 7)", False, True),
        ("2 <= sales <= 5", True, False),
        ("-sales < -5", False, True),
        ('agent.site == "amsterdam"', True, False),
        ('agent.id in ["a2", "a3"]', False, True),
        ('agent.team == "t1" and agent.account == "acme"', True, True),
        ('agent.site not in ("utrecht",)', True, False),
        ("true", True, True),
        ("false", False, False),
        ("True", True, True),
    ],
)
def test_matches(text: str, junior: bool, senior: bool) -> None:
    expr = parse(text)
    assert expr.matches(JUNIOR, {}) is junior
    assert expr.matches(SENIOR, {}) is senior


@pytest.mark.parametrize(
    ("task", "junior", "senior"),
    [
        ({"language": "nl"}, True, False),
        ({"language": "en"}, False, True),
        ({"language": "fr"}, False, False),
    ],
)
def test_skill_named_by_a_task_attribute(task: dict[str, str], junior: bool, senior: bool) -> None:
    expr = parse("skill[task.language] >= 5")
    assert expr.dynamic_skills
    assert expr.task_attributes == ("language",)
    assert expr.matches(JUNIOR, task) is junior
    assert expr.matches(SENIOR, task) is senior


def test_task_attribute_in_list() -> None:
    expr = parse('sales >= 1 and task.segment in ["gold", "platinum"]')
    assert expr.matches(JUNIOR, {"segment": "gold"})
    assert expr.matches(JUNIOR, {"segment": "platinum"})
    assert not expr.matches(JUNIOR, {"segment": "bronze"})


def test_missing_attribute_is_a_mismatch_not_a_crash() -> None:
    assert not parse("task.tier >= 3").matches(JUNIOR, {})
    assert not parse('"vip" in task.tags').matches(JUNIOR, {})
    assert parse('"vip" in task.tags').matches(JUNIOR, {"tags": ["vip"]})
    # a missing dynamic skill name is simply a skill nobody has
    assert not parse("skill[task.language] >= 1").matches(SENIOR, {})


def test_skills_and_attributes_are_collected() -> None:
    expr = parse("sales >= 5 and (nl >= 3 or task.b == 1) and task.a == 2")
    assert expr.skills == frozenset({"sales", "nl"})
    assert expr.task_attributes == ("a", "b")
    assert not expr.dynamic_skills
    assert expr.text == "sales >= 5 and (nl >= 3 or task.b == 1) and task.a == 2"


def test_binding_key_reads_the_attributes_in_order_and_makes_them_hashable() -> None:
    expr = parse("task.b == 1 and task.a in task.c")
    key = expr.binding_key({"a": 1, "b": 2, "c": [1, 2], "unused": 9})
    assert key == (1, 2, (1, 2))
    hash(key)
    assert expr.binding_key({}) == (None, None, None)
    assert hash(parse("task.d == 1").binding_key({"d": {"x": 1}}))


def test_score_sums_the_named_skills_and_the_dynamic_one() -> None:
    assert parse("sales >= 1 and en >= 1").score(SENIOR, {}) == 17
    assert parse("sales >= 1 and en >= 1").score(JUNIOR, {}) == 3
    assert parse("skill[task.language] >= 1").score(JUNIOR, {"language": "nl"}) == 8
    assert parse("sales >= 1 and skill[task.language] >= 1").score(SENIOR, {"language": "en"}) == 17


def test_known_skills_are_checked() -> None:
    parse("sales >= 1", known_skills=frozenset({"sales"}))
    with pytest.raises(ConfigError) as info:
        parse("sales >= 1 and sallse >= 2", known_skills=frozenset({"sales", "nl"}), where="queue q1")
    assert info.value.code == "config.invalid"
    assert "sallse" in info.value.message and "known skills: nl, sales" in info.value.message
    assert info.value.where == "queue q1"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "cannot be empty"),
        ("   ", "cannot be empty"),
        ("sales >=", "cannot parse expression"),
        ("sales >= (", "cannot parse expression"),
        ("agent.salary > 5", "unknown agent field 'salary'"),
        ("customer.tier > 5", "unknown name 'customer.tier'"),
        ("task > 5", "'task' must be followed by a field"),
        ("agent == 1", "'agent' must be followed by a field"),
        ("skill > 5", "'skill' must be followed by a field"),
        ("sales + 1 > 5", "unsupported syntax 'sales + 1'"),
        ("len(task.x) > 1", "unsupported syntax 'len(task.x)'"),
        ("__import__('os')", "unsupported syntax"),
        ("sales is 5", "unsupported comparison 'Is'"),
        ("task.x == None", "unsupported constant None"),
        ("~sales > 1", "unsupported operator"),
        ("sales if en else nl", "unsupported syntax"),
        ("task.x.y == 1", "unsupported syntax"),
    ],
)
def test_bad_expressions_raise_config_error_naming_the_problem(text: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(text, where="queue sales")
    assert problem in info.value.message, info.value.message
    assert info.value.where == "queue sales"
    assert info.value.code == "config.invalid"


def test_error_names_the_column() -> None:
    with pytest.raises(ConfigError) as info:
        parse("sales >= 1 and agent.salary > 5")
    assert "(column 16)" in info.value.message


NEEDS_CASES = [
    ("sales >= 3 and nl >= 1", {"sales"}),
    ("sales >= 1 or en >= 2", {"sales", "en"}),
    ("sales > 0", {"sales"}),
    ("sales == 4", {"sales"}),
    ("not sales >= 1", None),
    ("sales == 0", None),
    ("sales >= 0", None),
    ("true", None),
    ("skill[task.language] >= 5", None),
    ("agent.site == 'x' or sales >= 2", None),
]


@pytest.mark.parametrize(("text", "expected"), NEEDS_CASES)
def test_needs_one_of_names_a_skill_every_match_has(text: str, expected: set[str] | None) -> None:
    assert parse(text).needs_one_of == (None if expected is None else frozenset(expected))


@given(
    skills=st.dictionaries(st.sampled_from(["sales", "nl", "en"]), st.integers(0, 10), max_size=3),
    case=st.sampled_from([t for t, _ in NEEDS_CASES]),
    language=st.sampled_from(["nl", "en"]),
)
def test_an_agent_without_those_skills_never_matches(
    skills: dict[str, int], case: str, language: str
) -> None:
    """Routing skips agents without one of `needs_one_of`: that must never skip a real match."""
    expr = parse(case)
    agent = SimpleNamespace(skills=skills, id="a", team="t", site="x", account="acme")
    if expr.matches(agent, {"language": language}) and expr.needs_one_of is not None:
        assert any(skills.get(s, 0) > 0 for s in expr.needs_one_of)
