"""The sans-I/O contact-center engine.

`Engine.handle(event, now)` takes one event and returns the commands that follow from it. The core
never performs I/O, never reads the clock and never draws random numbers: time comes in with every
event, and whoever drives the engine (the live server, the simulator, a test) carries out the
commands. See docs/architecture.md.
"""

from centrale.core.errors import DomainError

__all__ = ["DomainError"]
