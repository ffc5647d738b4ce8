"""LoginRateLimiter: lockout per username and per IP, reset, pruning (with an injected clock)."""

from __future__ import annotations

import pytest

from centrale.server.ratelimit import LoginRateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limiter(clock: Clock) -> LoginRateLimiter:
    return LoginRateLimiter(max_failures=5, window=300.0, lockout=300.0, clock=clock)


def test_a_username_is_locked_after_max_failures(limiter: LoginRateLimiter, clock: Clock) -> None:
    for _ in range(4):
        assert limiter.check("ann", "10.0.0.1") is None
        limiter.failure("ann", "10.0.0.1")
        clock.advance(1)
    assert limiter.check("ann", "10.0.0.1") is None
    limiter.failure("ann", "10.0.0.1")  # the fifth
    assert limiter.check("ann", "10.0.0.1") == 300.0
    assert limiter.check("ann", "10.9.9.9") == 300.0  # from anywhere
    assert limiter.check("ANN", "10.9.9.9") == 300.0  # whatever the case
    assert limiter.check("bob", "10.0.0.1") is None  # the IP is not locked by 5 failures
    clock.advance(120)
    assert limiter.check("ann", "10.0.0.1") == 180.0
    clock.advance(180)
    assert limiter.check("ann", "10.0.0.1") is None
    # The count started afresh: one more failure does not lock again.
    limiter.failure("ann", "10.0.0.1")
    assert limiter.check("ann", "10.0.0.1") is None


def test_failures_outside_the_window_do_not_count(limiter: LoginRateLimiter, clock: Clock) -> None:
    for _ in range(4):
        limiter.failure("ann", "")
    clock.advance(300)  # those four are now out of the window
    for _ in range(4):
        limiter.failure("ann", "")
        assert limiter.check("ann", "") is None
    limiter.failure("ann", "")
    assert limiter.check("ann", "") == 300.0


def test_failures_while_locked_do_not_extend_the_lockout(limiter: LoginRateLimiter, clock: Clock) -> None:
    for _ in range(5):
        limiter.failure("ann", "")
    clock.advance(100)
    limiter.failure("ann", "")
    assert limiter.check("ann", "") == 200.0


def test_success_resets_the_username_but_not_the_ip(limiter: LoginRateLimiter, clock: Clock) -> None:
    for _ in range(4):
        limiter.failure("ann", "10.0.0.1")
    limiter.success("ann", "10.0.0.1")
    for _ in range(4):
        limiter.failure("ann", "10.0.0.1")
    assert limiter.check("ann", "10.0.0.1") is None
    # A success also lifts a username lockout (e.g. after an administrator reset the password).
    limiter.failure("ann", "10.0.0.1")
    assert limiter.check("ann", "10.0.0.2") == 300.0
    limiter.success("ann", "10.0.0.2")
    assert limiter.check("ann", "10.0.0.2") is None


def test_an_ip_spraying_usernames_is_locked(limiter: LoginRateLimiter, clock: Clock) -> None:
    for i in range(19):
        limiter.failure(f"user{i}", "203.0.113.7")
        assert limiter.check(f"new{i}", "203.0.113.7") is None
    limiter.failure("user19", "203.0.113.7")  # the twentieth from this IP
    assert limiter.check("someone-else", "203.0.113.7") == 300.0
    assert limiter.check("someone-else", "198.51.100.1") is None  # other IPs are fine
    # A success from that IP does not reset its count.
    limiter.success("valid", "203.0.113.7")
    assert limiter.check("valid", "203.0.113.7") == 300.0
    clock.advance(300)
    assert limiter.check("valid", "203.0.113.7") is None


def test_check_reports_the_longer_wait(clock: Clock) -> None:
    limiter = LoginRateLimiter(max_failures=2, window=60, lockout=100, clock=clock, ip_max_failures=3)
    limiter.failure("a", "ip")
    limiter.failure("b", "ip")
    clock.advance(10)
    limiter.failure("a", "ip")  # locks "a" (until 110) and the IP (3 failures, until 110)
    clock.advance(50)
    limiter.failure("c", "other")
    limiter.failure("c", "other")  # locks "c" until 160
    assert limiter.check("a", "ip") == 50.0
    assert limiter.check("c", "ip") == 100.0
    assert limiter.check("d", "ip") == 50.0


def test_pruning_forgets_old_keys(limiter: LoginRateLimiter, clock: Clock) -> None:
    for i in range(100):
        limiter.failure(f"user{i}", f"10.0.{i}.1")
    assert limiter.tracked == 200
    clock.advance(299)
    limiter.prune()
    assert limiter.tracked == 200  # still within the window
    clock.advance(1)
    limiter.prune()
    assert limiter.tracked == 0


def test_locked_keys_survive_pruning_until_the_lockout_ends(clock: Clock) -> None:
    limiter = LoginRateLimiter(max_failures=2, window=10, lockout=100, clock=clock)
    limiter.failure("ann", "")
    limiter.failure("ann", "")
    clock.advance(50)
    limiter.prune()
    assert limiter.check("ann", "") == 50.0
    clock.advance(50)
    limiter.prune()
    assert limiter.tracked == 0


def test_pruning_happens_by_itself(limiter: LoginRateLimiter, clock: Clock) -> None:
    for i in range(50):
        limiter.failure(f"user{i}", "")
    clock.advance(301)
    limiter.failure("late", "")  # more than a window since the last prune: old keys go
    assert limiter.tracked == 1


def test_memory_is_bounded(clock: Clock) -> None:
    limiter = LoginRateLimiter(clock=clock, max_keys=100, ip_max_failures=10**9)
    for i in range(10_000):
        limiter.failure(f"random{i}", "203.0.113.7")
        assert limiter.tracked <= 100 + 1 + 1  # usernames (briefly one over) + the one IP
    # The most recent usernames are the ones kept.
    for _ in range(4):
        limiter.failure("random9999", "203.0.113.7")
    assert limiter.check("random9999", "") == 300.0


def test_no_ip_means_no_ip_counting(limiter: LoginRateLimiter) -> None:
    for i in range(100):
        limiter.failure(f"user{i}", "")
    assert limiter.check("anyone", "") is None
    assert limiter.tracked == 100


def test_invalid_settings() -> None:
    with pytest.raises(ValueError):
        LoginRateLimiter(max_failures=0)
    with pytest.raises(ValueError):
        LoginRateLimiter(window=0)
    with pytest.raises(ValueError):
        LoginRateLimiter(lockout=-1)
    with pytest.raises(ValueError):
        LoginRateLimiter(max_keys=0)
