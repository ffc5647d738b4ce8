"""UserStore on SQLite and PostgreSQL: users, authentication, sessions, API tokens."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher, Type

from centrale.server.security import PASSWORD_HASHER, Principal, Role, digest, verify_password
from centrale.server.users import (
    TOKEN_PREFIX,
    InvalidAccounts,
    InvalidAgent,
    InvalidRole,
    InvalidTokenName,
    InvalidUsername,
    UserDisabled,
    UserError,
    UserExists,
    UserNotFound,
    UserStore,
    WeakPassword,
)
from centrale.storage.schema import accounts, agents, api_tokens, sessions, users

# A cheap argon2id for the many hashes these tests make; the real parameters are tested separately.
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=Type.ID)
PASSWORD = "correct horse battery"
T0 = 1_800_000_000.0


class Clock:
    """A settable clock (epoch seconds)."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(engine: sa.Engine, clock: Clock) -> UserStore:
    with engine.begin() as conn:
        conn.execute(accounts.insert(), [{"id": "acme", "name": "ACME"}, {"id": "globex", "name": "Globex"}])
        conn.execute(agents.insert(), [{"id": "a1", "account": "acme"}, {"id": "a2", "account": "globex"}])
    return UserStore(engine, clock=clock, session_ttl=12 * 3600, idle_timeout=2 * 3600, hasher=FAST)


def _row(engine: sa.Engine, table: sa.Table, **where: str) -> list[sa.Row[tuple[object, ...]]]:
    query = sa.select(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    with engine.connect() as conn:
        return list(conn.execute(query).all())


# --- users -------------------------------------------------------------------------------------------


def test_create_get_list(store: UserStore, engine: sa.Engine) -> None:
    p = store.create("root", PASSWORD, Role.ADMINISTRATOR)
    assert p == Principal("root", Role.ADMINISTRATOR, frozenset(), None)
    store.create("sue", PASSWORD, "supervisor", accounts=["globex", "acme", "acme"])
    bob = store.create("bob.smith@acme-1_x", PASSWORD, Role.AGENT, accounts=["acme"], agent="a1")
    assert bob.agent == "a1" and bob.accounts == frozenset({"acme"})

    sue = store.get("sue")
    assert sue is not None
    assert sue.role is Role.SUPERVISOR and sue.accounts == ("acme", "globex") and not sue.disabled
    assert sue.created_at is not None
    assert sue.principal() == Principal("sue", Role.SUPERVISOR, frozenset({"acme", "globex"}))
    assert store.get("nobody") is None
    assert [u.username for u in store.list()] == ["bob.smith@acme-1_x", "root", "sue"]

    # The password is stored as a PHC string, never in clear.
    (row,) = _row(engine, users, username="sue")
    assert row.password_hash.startswith("$argon2id$")
    assert PASSWORD not in row.password_hash
    assert verify_password(row.password_hash, PASSWORD, hasher=FAST)


@pytest.mark.parametrize("name", ["", "a" * 65, "ann smith", "ann/x", "ann:1", "änn", "ann\n", "<script>"])
def test_invalid_usernames(store: UserStore, name: str) -> None:
    with pytest.raises(InvalidUsername) as info:
        store.create(name, PASSWORD, Role.VIEWER)
    assert info.value.code == "user.invalid_name"


def test_longest_valid_username(store: UserStore) -> None:
    store.create("a" * 64, PASSWORD, Role.VIEWER)
    assert store.get("a" * 64) is not None


def test_duplicates_are_refused_also_when_only_case_differs(store: UserStore) -> None:
    store.create("ann", PASSWORD, Role.VIEWER, accounts=["acme"])
    for name in ("ann", "ANN", "Ann"):
        with pytest.raises(UserExists) as info:
            store.create(name, PASSWORD, Role.ADMINISTRATOR)
        assert info.value.code == "user.exists"
    assert [u.username for u in store.list()] == ["ann"]
    assert store.get("ann") is not None and store.get("ann").role is Role.VIEWER  # type: ignore[union-attr]


def test_invalid_role_accounts_agent_password(store: UserStore) -> None:
    with pytest.raises(InvalidRole) as role:
        store.create("x", PASSWORD, "root")
    assert role.value.code == "user.invalid_role" and "administrator" in role.value.message
    with pytest.raises(InvalidAgent) as agent:
        store.create("x", PASSWORD, Role.AGENT, agent="a404")
    assert agent.value.code == "user.invalid_agent"
    for bad in (["acme", "*"], [""], [" acme"], "acme"):
        with pytest.raises(InvalidAccounts) as acc:
            store.create("x", PASSWORD, Role.VIEWER, accounts=bad)
        assert acc.value.code == "user.invalid_accounts"
    for weak in ("", "short"):
        with pytest.raises(WeakPassword) as pw:
            store.create("x", weak, Role.VIEWER)
        assert pw.value.code == "user.weak_password"
        assert isinstance(pw.value, ValueError)
    assert store.list() == []  # nothing half-created


def test_errors_are_user_errors_with_codes(store: UserStore) -> None:
    with pytest.raises(UserError) as info:
        store.update("ghost", role=Role.VIEWER)
    assert isinstance(info.value, UserNotFound)
    assert info.value.code == "user.not_found" and "ghost" in str(info.value)


def test_update(store: UserStore) -> None:
    store.create("bob", PASSWORD, Role.AGENT, accounts=["acme"], agent="a1")
    r = store.update("bob", role="supervisor", accounts=["globex"])
    assert (r.role, r.accounts, r.agent, r.disabled) == (Role.SUPERVISOR, ("globex",), "a1", False)
    r = store.update("bob", agent="a2")
    assert r.agent == "a2" and r.role is Role.SUPERVISOR
    r = store.update("bob", agent=None)
    assert r.agent is None
    r = store.update("bob")  # nothing to change
    assert r.username == "bob"
    with pytest.raises(InvalidAgent):
        store.update("bob", agent="a404")
    with pytest.raises(InvalidRole):
        store.update("bob", role="god")
    with pytest.raises(UserNotFound):
        store.update("ghost")
    with pytest.raises(UserNotFound):
        store.update("ghost", disabled=True)


def test_set_password_and_delete(store: UserStore, engine: sa.Engine) -> None:
    store.create("ann", PASSWORD, Role.VIEWER, accounts=["acme"])
    with pytest.raises(WeakPassword):
        store.set_password("ann", "1234")
    assert store.authenticate("ann", PASSWORD) is not None
    store.set_password("ann", "a brand new one")
    assert store.authenticate("ann", PASSWORD) is None
    assert store.authenticate("ann", "a brand new one") is not None
    with pytest.raises(UserNotFound):
        store.set_password("ghost", "a brand new one")

    store.open_session("ann")
    store.create_token("ann", "ci")
    store.delete("ann")
    assert store.get("ann") is None
    assert _row(engine, sessions) == [] and _row(engine, api_tokens) == []
    with pytest.raises(UserNotFound):
        store.delete("ann")


def test_deleting_an_agent_record_clears_the_users_agent(store: UserStore, engine: sa.Engine) -> None:
    store.create("bob", PASSWORD, Role.AGENT, accounts=["acme"], agent="a1")
    with engine.begin() as conn:
        conn.execute(agents.delete().where(agents.c.id == "a1"))
    assert store.get("bob").agent is None  # type: ignore[union-attr]


# --- authentication ----------------------------------------------------------------------------------


def test_authenticate(store: UserStore) -> None:
    store.create("bob", PASSWORD, Role.AGENT, accounts=["acme"], agent="a1")
    assert store.authenticate("bob", PASSWORD) == Principal("bob", Role.AGENT, frozenset({"acme"}), "a1")
    assert store.authenticate("bob", PASSWORD + "x") is None
    assert store.authenticate("bob", "") is None
    assert store.authenticate("BOB", PASSWORD) is None  # usernames are exact
    assert store.authenticate("nobody", PASSWORD) is None
    assert store.authenticate("", "") is None


def test_disabled_users_cannot_log_in(store: UserStore) -> None:
    store.create("bob", PASSWORD, Role.SUPERVISOR, accounts=["acme"])
    store.update("bob", disabled=True)
    assert store.get("bob").disabled  # type: ignore[union-attr]
    assert store.authenticate("bob", PASSWORD) is None
    with pytest.raises(UserDisabled) as info:
        store.open_session("bob")
    assert info.value.code == "user.disabled"
    with pytest.raises(UserDisabled):
        store.create_token("bob", "x")
    store.update("bob", disabled=False)
    assert store.authenticate("bob", PASSWORD) is not None


def test_stale_hashes_are_replaced_at_login(engine: sa.Engine, store: UserStore, clock: Clock) -> None:
    store.create("ann", PASSWORD, Role.VIEWER, accounts=["acme"])
    (before,) = _row(engine, users, username="ann")
    assert before.password_hash.startswith("$argon2id$v=19$m=1024,t=1,p=1$")

    same = UserStore(engine, clock=clock, hasher=FAST)
    assert same.authenticate("ann", PASSWORD) is not None
    assert _row(engine, users, username="ann")[0].password_hash == before.password_hash  # current: kept

    upgraded = UserStore(engine, clock=clock)  # the production parameters
    assert upgraded.authenticate("ann", "wrong password") is None
    assert _row(engine, users, username="ann")[0].password_hash == before.password_hash  # wrong: kept
    assert upgraded.authenticate("ann", PASSWORD) is not None
    (after,) = _row(engine, users, username="ann")
    assert after.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert not PASSWORD_HASHER.check_needs_rehash(after.password_hash)
    assert upgraded.authenticate("ann", PASSWORD) is not None


def test_unknown_users_cost_about_as_much_as_wrong_passwords(engine: sa.Engine, clock: Clock) -> None:
    real = UserStore(engine, clock=clock)  # production parameters: tens of milliseconds a verify
    real.create("ann", PASSWORD, Role.VIEWER)
    real.authenticate("nobody", PASSWORD)  # makes the dummy hash once

    def best(username: str) -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            assert real.authenticate(username, "wrong password") is None
            times.append(time.perf_counter() - start)
        return min(times)

    wrong, unknown = best("ann"), best("nobody")
    assert unknown > 0.5 * wrong, (unknown, wrong)


# --- sessions ----------------------------------------------------------------------------------------


def test_session_round_trip_stores_only_the_digest(store: UserStore, engine: sa.Engine) -> None:
    store.create("sue", PASSWORD, Role.SUPERVISOR, accounts=["acme"])
    secret, csrf = store.open_session("sue")
    assert secret != csrf and len(secret) >= 43 and len(csrf) >= 43

    found = store.session(secret)
    assert found == (Principal("sue", Role.SUPERVISOR, frozenset({"acme"})), csrf)

    (row,) = _row(engine, sessions)
    assert row.id == digest(secret) and row.id != secret
    assert row.csrf == csrf
    assert (row.created, row.last_seen, row.expires) == (T0, T0, T0 + 12 * 3600)

    assert store.session("not-a-session") is None
    assert store.session("") is None
    assert store.session(digest(secret)) is None  # the stored value is not a credential

    other_secret, other_csrf = store.open_session("sue")
    assert other_csrf != csrf
    store.close_session(secret)
    assert store.session(secret) is None
    assert store.session(other_secret) is not None
    store.close_session(secret)  # again: harmless
    with pytest.raises(UserNotFound):
        store.open_session("ghost")


def test_session_reflects_changes_of_the_user(store: UserStore) -> None:
    store.create("sue", PASSWORD, Role.SUPERVISOR, accounts=["acme"])
    secret, _ = store.open_session("sue")
    store.update("sue", role=Role.VIEWER, accounts=["globex"])
    found = store.session(secret)
    assert found is not None and found[0] == Principal("sue", Role.VIEWER, frozenset({"globex"}))


def test_session_expires_after_its_lifetime_even_when_used(store: UserStore, clock: Clock) -> None:
    store.create("sue", PASSWORD, Role.SUPERVISOR)
    secret, _ = store.open_session("sue")
    for _ in range(11):
        clock.advance(3600)
        assert store.session(secret) is not None
    clock.advance(3599)  # 11 h 59 min 59 s
    assert store.session(secret) is not None
    clock.advance(1)  # 12 h
    assert store.session(secret) is None
    clock.advance(-10)
    assert store.session(secret) is None  # gone for good


def test_session_idle_timeout(store: UserStore, clock: Clock, engine: sa.Engine) -> None:
    store.create("sue", PASSWORD, Role.SUPERVISOR)
    secret, _ = store.open_session("sue")
    clock.advance(2 * 3600)  # exactly the idle timeout: still alive
    assert store.session(secret) is not None
    clock.advance(2 * 3600 + 1)
    assert store.session(secret) is None
    assert _row(engine, sessions) == []


def test_last_seen_is_written_at_most_once_a_minute(
    store: UserStore, clock: Clock, engine: sa.Engine
) -> None:
    store.create("sue", PASSWORD, Role.SUPERVISOR)
    secret, _ = store.open_session("sue")
    clock.advance(30)
    assert store.session(secret) is not None
    assert _row(engine, sessions)[0].last_seen == T0
    clock.advance(30)
    assert store.session(secret) is not None
    assert _row(engine, sessions)[0].last_seen == T0 + 60
    clock.advance(59)
    assert store.session(secret) is not None
    assert _row(engine, sessions)[0].last_seen == T0 + 60


def test_disabling_or_a_new_password_ends_sessions(store: UserStore) -> None:
    store.create("sue", PASSWORD, Role.SUPERVISOR)
    store.create("ann", PASSWORD, Role.VIEWER)
    s1, _ = store.open_session("sue")
    s2, _ = store.open_session("sue")
    other, _ = store.open_session("ann")

    store.set_password("sue", "another password", keep_session=s1)
    assert store.session(s1) is not None and store.session(s2) is None
    store.set_password("sue", "yet another password")
    assert store.session(s1) is None

    s3, _ = store.open_session("sue")
    store.update("sue", disabled=True)
    assert store.session(s3) is None
    store.update("sue", disabled=False)
    assert store.session(s3) is None  # re-enabling does not revive it

    s4, _ = store.open_session("sue")
    s5, _ = store.open_session("sue")
    assert store.close_all_sessions("sue") == 2
    assert store.session(s4) is None and store.session(s5) is None
    assert store.session(other) is not None


def test_a_disabled_users_session_is_refused_even_if_still_stored(
    store: UserStore, engine: sa.Engine
) -> None:
    store.create("sue", PASSWORD, Role.SUPERVISOR)
    secret, _ = store.open_session("sue")
    with engine.begin() as conn:  # disabled behind the store's back (e.g. by SQL)
        conn.execute(users.update().where(users.c.username == "sue").values(disabled=True))
    assert store.session(secret) is None


def test_stale_sessions_are_purged(store: UserStore, clock: Clock, engine: sa.Engine) -> None:
    store.create("sue", PASSWORD, Role.SUPERVISOR)
    store.open_session("sue")
    store.open_session("sue")
    clock.advance(3 * 3600)  # idle
    assert store.purge_sessions() == 2
    store.open_session("sue")
    clock.advance(3 * 3600)
    store.open_session("sue")  # opening one purges the stale ones
    assert len(_row(engine, sessions)) == 1


# --- API tokens --------------------------------------------------------------------------------------


def test_api_tokens(store: UserStore, clock: Clock, engine: sa.Engine) -> None:
    store.create("bot", PASSWORD, Role.SUPERVISOR, accounts=["acme"])
    store.create("ann", PASSWORD, Role.VIEWER, accounts=["globex"])
    token = store.create_token("bot", "reporting")
    assert token.startswith(TOKEN_PREFIX) and len(token) == len(TOKEN_PREFIX) + 43
    second = store.create_token("bot")
    assert second != token

    # Only digests are stored.
    stored = _row(engine, api_tokens)
    assert {r.id for r in stored} == {digest(token), digest(second)}
    for r in stored:
        assert token not in r and second not in r

    assert store.token(token) == Principal("bot", Role.SUPERVISOR, frozenset({"acme"}))
    assert store.token(digest(token)) is None
    assert store.token(TOKEN_PREFIX + "nope") is None
    assert store.token(token[len(TOKEN_PREFIX) :]) is None
    assert store.token("") is None

    listed = store.tokens("bot")
    assert [(t.id, t.name, t.revoked) for t in listed] == sorted(
        [(digest(token), "reporting", False), (digest(second), "", False)], key=lambda x: x[0]
    )
    assert listed[0].created == T0 and listed[0].username == "bot"
    assert {t.id: t.last_used for t in listed}[digest(token)] == T0
    assert {t.id: t.last_used for t in listed}[digest(second)] is None
    assert store.tokens("ann") == []

    # Revoking: only the owner's when a username is given.
    assert not store.revoke_token(digest(token), username="ann")
    assert store.token(token) is not None
    assert store.revoke_token(digest(token))
    assert not store.revoke_token(digest(token))  # already revoked
    assert not store.revoke_token("unknown")
    assert store.token(token) is None
    assert store.token(second) is not None
    assert {t.id: t.revoked for t in store.tokens("bot")} == {digest(token): True, digest(second): False}


def test_token_last_used_and_user_state(store: UserStore, clock: Clock, engine: sa.Engine) -> None:
    store.create("bot", PASSWORD, Role.ADMINISTRATOR)
    token = store.create_token("bot", "ci")
    clock.advance(10)
    assert store.token(token) is not None
    assert _row(engine, api_tokens)[0].last_used == T0 + 10
    clock.advance(10)
    assert store.token(token) is not None
    assert _row(engine, api_tokens)[0].last_used == T0 + 10  # at most once a minute
    clock.advance(60)
    assert store.token(token) is not None
    assert _row(engine, api_tokens)[0].last_used == T0 + 80

    store.update("bot", role=Role.VIEWER, accounts=["acme"])
    assert store.token(token) == Principal("bot", Role.VIEWER, frozenset({"acme"}))
    store.update("bot", disabled=True)
    assert store.token(token) is None
    store.update("bot", disabled=False)
    assert store.token(token) is not None
    store.set_password("bot", "changed password")
    assert store.token(token) is not None  # tokens are separate credentials


def test_token_errors(store: UserStore) -> None:
    with pytest.raises(UserNotFound):
        store.create_token("ghost", "x")
    store.create("bot", PASSWORD, Role.ADMINISTRATOR)
    with pytest.raises(InvalidTokenName) as info:
        store.create_token("bot", "x" * 201)
    assert info.value.code == "token.invalid_name"
    store.create_token("bot", "x" * 200)
