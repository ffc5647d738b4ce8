"""centrale — an open-source contact-center platform.

The engine (`centrale.core`) is sans-I/O: it takes events and returns commands. The simulator
(`centrale.sim`) drives the very same engine on a virtual clock; planning (`centrale.planning`)
and outbound (`centrale.outbound`) build on it.
"""

__version__ = "0.1.0"
