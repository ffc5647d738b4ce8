"""Slowing down password guessing: failed logins counted per username and per client IP.

:class:`LoginRateLimiter` keeps, for every username and every client IP separately, the times of
recent failed logins. When a key collects `max_failures` failures (per username; `ip_max_failures`
per IP) within `window` seconds it is locked for `lockout` seconds: :meth:`~LoginRateLimiter.check`
answers how many seconds to wait, and the HTTP layer refuses the attempt (429 with
``Retry-After``) *without* checking the password. When the lockout ends the count starts afresh.

* Per username: an attacker guessing one user's password gets `max_failures` tries per `lockout`.
  Usernames are compared case-insensitively, and unknown usernames count like real ones (so the
  limiter does not reveal which exist).
* Per IP: an attacker spraying many usernames from one address is limited too, more loosely (an
  office behind one NAT address has many users).
* A successful login clears its *username's* failures but not its IP's, so an attacker holding one
  valid account cannot reset the IP counter between guesses at others.
* An empty IP (unknown) is not counted per IP.

The trade-off of any per-username lockout applies: someone can lock a user out for `lockout`
seconds by failing on purpose; the user's password stays safe.

Memory is bounded: keys whose failures are older than the window and whose lock has ended are
pruned (at most once per `window`, or when a table grows past `max_keys`); if a table is still
over `max_keys` after that, the least recently active keys are dropped down to 90 % of it.

Pure and deterministic: time comes from the injected clock, there is no I/O and no thread.
Not thread-safe: the server uses it from its event loop.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["LoginRateLimiter"]


@dataclass(slots=True)
class _Record:
    failures: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0
    last: float = 0.0


class _Counter:
    """Failures per key for one kind of key (usernames or IPs)."""

    __slots__ = ("_records", "limit", "lockout", "max_keys", "window")

    def __init__(self, limit: int, window: float, lockout: float, max_keys: int) -> None:
        self.limit = limit
        self.window = window
        self.lockout = lockout
        self.max_keys = max_keys
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def __len__(self) -> int:
        return len(self._records)

    def wait(self, key: str, now: float) -> float:
        record = self._records.get(key)
        if record is None:
            return 0.0
        return max(0.0, record.locked_until - now)

    def failure(self, key: str, now: float) -> None:
        record = self._records.get(key)
        if record is None:
            record = self._records[key] = _Record()
        else:
            self._records.move_to_end(key)
        record.last = now
        if record.locked_until > now:
            return  # already locked (the attempt should not have been made); do not extend
        failures = record.failures
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        failures.append(now)
        if len(failures) >= self.limit:
            record.locked_until = now + self.lockout
            failures.clear()

    def clear(self, key: str) -> None:
        self._records.pop(key, None)

    def prune(self, now: float) -> None:
        stale = [
            key
            for key, record in self._records.items()
            if record.locked_until <= now
            and (not record.failures or record.failures[-1] <= now - self.window)
        ]
        for key in stale:
            del self._records[key]
        if len(self._records) > self.max_keys:
            # Down to 90 %, so that a flood of new keys prunes once per max_keys/10 failures, not on each.
            keep = self.max_keys - self.max_keys // 10
            while len(self._records) > keep:
                self._records.popitem(last=False)  # the least recently active


class LoginRateLimiter:
    """Failed-login counting per username and per client IP (see the module docstring)."""

    def __init__(
        self,
        max_failures: int = 5,
        window: float = 300.0,
        lockout: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        *,
        ip_max_failures: int = 20,
        max_keys: int = 10_000,
    ) -> None:
        if max_failures < 1 or ip_max_failures < 1 or max_keys < 1:
            raise ValueError("max_failures, ip_max_failures and max_keys must be at least 1")
        if window <= 0 or lockout <= 0:
            raise ValueError("window and lockout must be positive")
        self.window = float(window)
        self._clock = clock
        self._users = _Counter(max_failures, self.window, float(lockout), max_keys)
        self._ips = _Counter(ip_max_failures, self.window, float(lockout), max_keys)
        self._last_prune = clock()

    def check(self, username: str, ip: str) -> float | None:
        """Seconds to wait before `username` may try again from `ip`; None when allowed now."""
        now = self._clock()
        wait = self._users.wait(_user_key(username), now)
        if ip:
            wait = max(wait, self._ips.wait(ip, now))
        return wait if wait > 0 else None

    def failure(self, username: str, ip: str) -> None:
        """Count a failed login of `username` from `ip`."""
        now = self._clock()
        self._users.failure(_user_key(username), now)
        if ip:
            self._ips.failure(ip, now)
        self._maybe_prune(now)

    def success(self, username: str, ip: str) -> None:
        """A successful login: forget `username`'s failures (the IP's count stays; see above)."""
        del ip  # deliberately not reset
        self._users.clear(_user_key(username))

    def prune(self) -> None:
        """Forget keys with nothing recent (done automatically; public for tests and housekeeping)."""
        now = self._clock()
        self._users.prune(now)
        self._ips.prune(now)
        self._last_prune = now

    @property
    def tracked(self) -> int:
        """How many keys (usernames plus IPs) are held in memory."""
        return len(self._users) + len(self._ips)

    def _maybe_prune(self, now: float) -> None:
        if (
            now - self._last_prune >= self.window
            or len(self._users) > self._users.max_keys
            or len(self._ips) > self._ips.max_keys
        ):
            self.prune()


def _user_key(username: str) -> str:
    return username.casefold()
