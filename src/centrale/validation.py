"""Helpers for turning pydantic validation errors into messages a person can act on.

Scenarios, campaign settings and other YAML files are validated with pydantic models. When a key is
unknown, the message suggests the keys allowed at that place; these helpers find them.
"""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel


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
