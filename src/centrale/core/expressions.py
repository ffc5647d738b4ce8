"""Skill requirements: small boolean expressions over an agent's skills and an interaction's attributes.

Theory of operation
-------------------
A queue says which agents may take its interactions with an expression such as::

    sales >= 5 and (nl >= 3 or en >= 7)
    skill[task.language] >= 6 and agent.site == "amsterdam"
    support >= 1 and task.segment in ["gold", "platinum"]

A bare name is the agent's proficiency (1–10) in that skill, 0 when the agent lacks it.
``skill[...]`` looks a skill up by a computed name, ``task.X`` is the interaction's attribute ``X``
and ``agent.X`` is one of the agent's own fields (``id``, ``team``, ``site``, ``account``).

The text is parsed with Python's own parser and then checked against a short whitelist of node
types, so the syntax is familiar and nothing outside the whitelist can run. The checked tree is
compiled to nested closures once.

Routing needs eligibility to depend on the agent only, so that eligible agents can be indexed ahead
of time. Interactions therefore *bind* an expression: the ``task.X`` values are fixed, giving an
agent-only predicate. Interactions with the same values share one bound predicate — the key
``(expression, values)`` names a pool of agents (a routing *target*).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from centrale.core.errors import ConfigError

AgentView = Any  # anything with `.skills: Mapping[str, int]`, `.id`, `.team`, `.site`, `.account`
Evaluator = Callable[[AgentView, Mapping[str, Any]], Any]

_AGENT_FIELDS = frozenset({"id", "team", "site", "account"})
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}


@dataclass(frozen=True)
class Expression:
    """A parsed, checked and compiled requirement expression."""

    text: str
    skills: frozenset[str]
    """Skills named literally (used to check the configuration and to score 'most skilled')."""
    task_attributes: tuple[str, ...]
    """Interaction attributes the expression reads, in a fixed order (the binding key)."""
    dynamic_skills: bool
    agent_fields: frozenset[str]
    """Agent fields (``agent.X``) the expression reads."""
    needs_one_of: frozenset[str] | None
    """Skills of which a matching agent must have at least one (level > 0), when that can be seen
    from the expression alone (``sales >= 3 and nl >= 1`` → {sales}); None when it cannot
    (``not sales >= 1``, ``true``, ``skill[task.language] >= 5``). Lets routing skip agents that
    cannot match without evaluating the expression for each of them."""
    _evaluate: Evaluator = field(repr=False, compare=False)

    def matches(self, agent: AgentView, task: Mapping[str, Any]) -> bool:
        try:
            return bool(self._evaluate(agent, task))
        except TypeError:
            # Comparing values of different types (e.g. a missing attribute, None < 3) is a
            # mismatch, not a crash: the agent simply does not qualify.
            return False

    def binding_key(self, task: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(_hashable(task.get(name)) for name in self.task_attributes)

    def score(self, agent: AgentView, task: Mapping[str, Any]) -> int:
        """Sum of the agent's proficiency in the skills the expression names ('most skilled')."""
        skills = agent.skills
        total = sum(skills.get(s, 0) for s in self.skills)
        if self.dynamic_skills:
            for name in self.task_attributes:
                value = task.get(name)
                if isinstance(value, str):
                    total += skills.get(value, 0)
        return int(total)


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, dict):
        return tuple(sorted(value.items()))
    return value


def parse(text: str, *, known_skills: frozenset[str] | None = None, where: str = "") -> Expression:
    """Parse and check an expression; raise :class:`ConfigError` naming the problem."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError("a requirement expression cannot be empty", where=where)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ConfigError(
            f"cannot parse expression {text!r}: {exc.msg} at column {exc.offset}", where=where
        ) from None
    compiler = _Compiler(text, where)
    evaluate = compiler.compile(tree.body)
    if known_skills is not None:
        unknown = sorted(compiler.skills - known_skills)
        if unknown:
            raise ConfigError(
                f"expression {text!r} names unknown skill(s) {', '.join(unknown)}; "
                f"known skills: {', '.join(sorted(known_skills)) or '(none)'}",
                where=where,
            )
    return Expression(
        text=text.strip(),
        skills=frozenset(compiler.skills),
        task_attributes=tuple(sorted(compiler.task_attributes)),
        dynamic_skills=compiler.dynamic_skills,
        agent_fields=frozenset(compiler.agent_fields),
        needs_one_of=_needs_one_of(tree.body),
        _evaluate=evaluate,
    )


def _needs_one_of(node: ast.expr) -> frozenset[str] | None:
    """A set of skills one of which every matching agent has (see `Expression.needs_one_of`)."""
    if isinstance(node, ast.BoolOp):
        parts = [_needs_one_of(v) for v in node.values]
        if isinstance(node.op, ast.And):
            known = [p for p in parts if p is not None]
            return min(known, key=len) if known else None  # any conjunct will do: the narrowest
        if any(p is None for p in parts):
            return None
        return frozenset().union(*(p for p in parts if p is not None))
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, op, right = node.left, node.ops[0], node.comparators[0]
        if isinstance(left, ast.Name) and isinstance(right, ast.Constant):
            value = right.value
            # An agent without the skill has level 0: it fails `s >= 1`, `s > 0`, `s == 3`.
            if (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and (
                    (isinstance(op, ast.GtE) and value > 0)
                    or (isinstance(op, ast.Gt) and value >= 0)
                    or (isinstance(op, ast.Eq) and value != 0)
                )
            ):
                return frozenset({left.id})
    return None


class _Compiler:
    def __init__(self, text: str, where: str) -> None:
        self.text = text
        self.where = where
        self.skills: set[str] = set()
        self.task_attributes: set[str] = set()
        self.dynamic_skills = False
        self.agent_fields: set[str] = set()

    def fail(self, node: ast.AST, problem: str) -> ConfigError:
        col = getattr(node, "col_offset", 0) + 1
        return ConfigError(f"{problem} in expression {self.text!r} (column {col})", where=self.where)

    def compile(self, node: ast.expr) -> Evaluator:
        if isinstance(node, ast.BoolOp):
            parts = [self.compile(v) for v in node.values]
            if isinstance(node.op, ast.And):
                return lambda a, t: all(p(a, t) for p in parts)
            return lambda a, t: any(p(a, t) for p in parts)
        if isinstance(node, ast.UnaryOp):
            operand = self.compile(node.operand)
            if isinstance(node.op, ast.Not):
                return lambda a, t: not operand(a, t)
            if isinstance(node.op, ast.USub):
                return lambda a, t: -operand(a, t)
            raise self.fail(node, "unsupported operator")
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.Name):
            name = node.id
            if name in ("true", "True"):
                return lambda a, t: True
            if name in ("false", "False"):
                return lambda a, t: False
            if name in ("task", "agent", "skill"):
                raise self.fail(node, f"'{name}' must be followed by a field")
            self.skills.add(name)
            return lambda a, t: a.skills.get(name, 0)
        if isinstance(node, ast.Constant):
            value = node.value
            if not isinstance(value, int | float | str | bool):
                raise self.fail(node, f"unsupported constant {value!r}")
            return lambda a, t: value
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            items = [self.compile(e) for e in node.elts]
            return lambda a, t: [i(a, t) for i in items]
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            owner, attr = node.value.id, node.attr
            if owner == "task":
                self.task_attributes.add(attr)
                return lambda a, t: t.get(attr)
            if owner == "agent":
                if attr not in _AGENT_FIELDS:
                    raise self.fail(
                        node, f"unknown agent field '{attr}' (use one of {sorted(_AGENT_FIELDS)})"
                    )
                self.agent_fields.add(attr)
                return lambda a, t: getattr(a, attr)
            raise self.fail(node, f"unknown name '{owner}.{attr}' (use task.X, agent.X or a skill name)")
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "skill":
            key = self.compile(node.slice)
            self.dynamic_skills = True
            return lambda a, t: a.skills.get(key(a, t), 0)
        raise self.fail(node, f"unsupported syntax '{ast.unparse(node)}'")

    def _compare(self, node: ast.Compare) -> Evaluator:
        left = self.compile(node.left)
        steps: list[tuple[Callable[[Any, Any], bool], Evaluator]] = []
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            fn = _COMPARE.get(type(op))
            if fn is None:
                raise self.fail(node, f"unsupported comparison '{type(op).__name__}'")
            steps.append((fn, self.compile(comparator)))
        if len(steps) == 1:
            ((fn, right),) = steps
            return lambda a, t: fn(left(a, t), right(a, t))

        def chained(a: AgentView, t: Mapping[str, Any]) -> bool:
            current = left(a, t)
            for fn, right in steps:
                nxt = right(a, t)
                if not fn(current, nxt):
                    return False
                current = nxt
            return True

        return chained
