"""Helpers for turning pydantic validation errors into messages a person can act on.

Scenarios, campaign settings and other YAML files are validated with pydantic models. When a key is
unknown, the message suggests the keys allowed at that place; these helpers find them.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel


class FileProblem(Exception):
    """A file that cannot be read as YAML: `where` (a line and column, or empty) and `problem`."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(problem)
        self.where = where
        self.problem = problem


def read_yaml(path: Path) -> Any:
    """The YAML document in `path`; raises :class:`FileProblem` saying what is wrong and where."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileProblem("", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FileProblem("", f"cannot read the file: {exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise FileProblem(where, f"not valid YAML: {problem}") from None


def model_in(annotation: Any) -> type[BaseModel] | None:
    """The model inside a field's type (``list[QueueSpec]``, ``HoursSpec | None``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = model_in(arg)
        if found is not None:
            return found
    return None


def keys_at(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys (aliases where set) allowed at `loc` inside `root` — to suggest a fix for a typo."""
    model = root
    for part in loc:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(str(part))
        inner = None if info is None else model_in(info.annotation)
        if inner is None:
            break
        model = inner
    return [info.alias or name for name, info in model.model_fields.items()]
