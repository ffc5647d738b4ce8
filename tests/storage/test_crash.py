"""Crash safety: a writer killed with SIGKILL mid-run leaves a prefix of whole batches.

A child process appends a deterministic sample log in batches of 100–1,000 events (one transaction
each) and is killed while a batch is being written. Then the store must open cleanly, hold exactly
the events up to some batch boundary — never part of a batch — and replaying it must give the same
engine state as feeding exactly those events to a new engine. Writing then continues where the
child stopped.
"""

from __future__ import annotations

import functools
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from centrale.core.engine import Engine
from centrale.core.eventlog import LoggedEvent
from centrale.storage import EventStore, migrate
from centrale.storage.db import create_engine
from centrale.storage.sample import sample_events

WRITER = Path(__file__).with_name("crash_writer.py")
COUNT = 15_000


@functools.cache
def _sample(seed: int) -> tuple[Any, list[LoggedEvent]]:
    return sample_events(COUNT, seed=seed)


def _run_and_kill(url: str, seed: int, batches: int, when: str, delay: float) -> tuple[set[int], int]:
    """Start the writer and SIGKILL it during batch number `batches`: `delay` seconds after it
    began (`when="begin"`) or while half of it is written in the open transaction
    (`when="inside"`). Return the batch ends it announced and the last one it reported committed."""
    child = subprocess.Popen(
        [sys.executable, str(WRITER), url, str(seed), str(COUNT)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    ends: set[int] = set()
    committed = 0
    begun = 0
    try:
        assert child.stdout is not None
        for line in child.stdout:
            word, *numbers = line.split()
            if word == "begin":
                begun += 1
                ends.add(int(numbers[1]))
            if word == when and begun == batches:
                time.sleep(delay)
                break
            elif word == "done":
                committed = int(numbers[0])
            elif word == "finished":
                break
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        assert child.stdout is not None
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    return ends, committed


@pytest.mark.parametrize(("seed", "when"), [(11, "inside"), (12, "begin"), (13, "inside"), (14, "begin")])
def test_killed_writer_leaves_whole_batches(db_url: str, seed: int, when: str) -> None:
    config, entries = _sample(seed)
    migrate(db_url)
    rng = random.Random(seed)
    delay = rng.uniform(0.0, 0.03) if when == "begin" else 0.0
    ends, committed = _run_and_kill(db_url, seed, rng.randint(3, 12), when, delay)

    if db_url.startswith("sqlite"):
        engine = create_engine(db_url)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        engine.dispose()

    with EventStore(db_url) as store:  # opens cleanly after the crash
        last = store.last_seq()
        if when == "inside":
            assert last == committed  # the half-written batch is gone entirely
        assert last >= committed  # nothing reported committed is lost
        assert last in ends | {0}  # a batch boundary: never half a batch
        stored = list(store.read())
        assert [e.seq for e in stored] == list(range(1, last + 1))
        assert stored == entries[:last]
        recovered = store.recover(config)
        expected = Engine.replay(config, ((e.at, e.event) for e in entries[:last]))
        assert recovered.snapshot() == expected.snapshot()
        assert recovered.pending_timers() == expected.pending_timers()
        # The log goes on from there.
        store.append(entries[last : last + 500])
        assert store.last_seq() == last + 500
