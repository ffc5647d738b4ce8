"""Fixtures for the simulator tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from sim_helpers import SMALL


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """The small scenario of :mod:`sim_helpers`, written to a file."""
    path = tmp_path / "small.yaml"
    path.write_text(SMALL, encoding="utf-8")
    return path
