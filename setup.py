"""Build hook: compile the engine's hot modules with mypyc.

The engine and the simulator's driver are plain, fully typed Python. mypyc (part of mypy) compiles
them to C extensions at install time, which roughly doubles the simulator's speed without changing
a line of the code or its behaviour. Set ``CENTRALE_PURE=1`` to install the pure-Python modules only
(for debugging, or on a machine without a C compiler).
"""

from __future__ import annotations

import os

from setuptools import setup

COMPILED = [
    "src/centrale/core/agent.py",
    "src/centrale/core/commands.py",
    "src/centrale/core/config.py",
    "src/centrale/core/engine.py",
    "src/centrale/core/errors.py",
    "src/centrale/core/eventlog.py",
    "src/centrale/core/events.py",
    "src/centrale/core/expressions.py",
    "src/centrale/core/interaction.py",
    "src/centrale/core/record.py",
    "src/centrale/core/routing.py",
    "src/centrale/core/stats.py",
    "src/centrale/sim/distributions.py",
    "src/centrale/sim/kernel.py",
    "src/centrale/sim/world.py",
]

ext_modules = []
if os.environ.get("CENTRALE_PURE", "") not in ("1", "true", "yes"):
    from mypyc.build import mypycify

    ext_modules = mypycify(["--config-file=mypyc.ini", *COMPILED], opt_level="3")

setup(ext_modules=ext_modules)
