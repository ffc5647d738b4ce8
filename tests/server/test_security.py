"""Passwords, the role/permission matrix, account scoping and secrets (centrale.server.security)."""

from __future__ import annotations

import hashlib

import pytest
from argon2 import PasswordHasher, Type

from centrale.server.security import (
    ALL_ACCOUNTS,
    MAX_PASSWORD_LENGTH,
    PASSWORD_HASHER,
    ROLE_PERMISSIONS,
    PasswordPolicyError,
    Permission,
    Principal,
    Role,
    check_password_policy,
    digest,
    hash_password,
    new_token,
    tokens_equal,
    verify_and_update,
    verify_password,
)

OLD_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=Type.ID)

# --- passwords ---------------------------------------------------------------------------------------


def test_hash_is_argon2id_phc_with_the_pinned_parameters() -> None:
    h = hash_password("correct horse")
    assert h.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert hash_password("correct horse") != h  # salted
    assert verify_password(h, "correct horse")
    assert not verify_password(h, "correct horsE")
    assert not verify_password(h, "")


def test_verify_treats_malformed_hashes_as_mismatch() -> None:
    assert not verify_password("", "whatever1")
    assert not verify_password("not a hash", "whatever1")
    assert not verify_password("$argon2id$v=19$m=65536,t=3,p=4$broken", "whatever1")
    assert verify_and_update("garbage", "whatever1") == (False, None)


def test_verify_and_update_rehashes_only_stale_hashes() -> None:
    current = hash_password("s3cret-pass")
    assert verify_and_update(current, "s3cret-pass") == (True, None)
    assert verify_and_update(current, "wrong-pass") == (False, None)

    old = OLD_HASHER.hash("s3cret-pass")
    assert verify_and_update(old, "wrong-pass") == (False, None)
    ok, new = verify_and_update(old, "s3cret-pass")
    assert ok and new is not None
    assert new.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify_password(new, "s3cret-pass")
    assert not PASSWORD_HASHER.check_needs_rehash(new)


def test_hasher_can_be_chosen() -> None:
    h = hash_password("abcdefgh", hasher=OLD_HASHER)
    assert h.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert verify_and_update(h, "abcdefgh", hasher=OLD_HASHER) == (True, None)


@pytest.mark.parametrize(
    ("password", "words"),
    [
        ("", "empty"),
        ("a", "too short: 1 characters, at least 8"),
        ("1234567", "too short: 7 characters"),
        ("x" * (MAX_PASSWORD_LENGTH + 1), "too long"),
    ],
)
def test_weak_passwords_are_refused_with_a_clear_message(password: str, words: str) -> None:
    with pytest.raises(PasswordPolicyError, match=words):
        hash_password(password)
    with pytest.raises(ValueError):  # PasswordPolicyError is a ValueError
        check_password_policy(password)


def test_policy_counts_characters_not_bytes() -> None:
    check_password_policy("12345678")
    check_password_policy("çàéüöñßø")  # 8 characters, 16 bytes
    with pytest.raises(PasswordPolicyError):
        check_password_policy("çàéüöñß")
    assert verify_password(hash_password("çàéüöñßø"), "çàéüöñßø")


# --- roles and permissions ---------------------------------------------------------------------------


def test_every_role_has_a_row_and_administrators_have_everything() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert ROLE_PERMISSIONS[Role.ADMINISTRATOR] == frozenset(Permission)
    for permissions in ROLE_PERMISSIONS.values():
        assert permissions <= ROLE_PERMISSIONS[Role.ADMINISTRATOR]


def test_permission_values_are_the_documented_names() -> None:
    assert {p.value for p in Permission} == {
        "config.read",
        "config.write",
        "agent.control",
        "desktop",
        "interactions.read",
        "reports.read",
        "export",
        "recordings.read",
        "campaigns.write",
        "lists.write",
        "dnc.write",
        "gdpr",
        "audit.read",
    }
    assert {r.value for r in Role} == {"administrator", "supervisor", "agent", "viewer"}


@pytest.mark.parametrize(
    ("role", "permission", "allowed"),
    [
        (Role.ADMINISTRATOR, Permission.CONFIG_WRITE, True),
        (Role.ADMINISTRATOR, Permission.GDPR, True),
        (Role.ADMINISTRATOR, Permission.AUDIT_READ, True),
        (Role.SUPERVISOR, Permission.CONFIG_READ, True),
        (Role.SUPERVISOR, Permission.CONFIG_WRITE, False),
        (Role.SUPERVISOR, Permission.AGENT_CONTROL, True),
        (Role.SUPERVISOR, Permission.EXPORT, True),
        (Role.SUPERVISOR, Permission.CAMPAIGNS_WRITE, True),
        (Role.SUPERVISOR, Permission.LISTS_WRITE, True),
        (Role.SUPERVISOR, Permission.DNC_WRITE, True),
        (Role.SUPERVISOR, Permission.GDPR, False),
        (Role.SUPERVISOR, Permission.AUDIT_READ, False),
        (Role.AGENT, Permission.DESKTOP, True),
        (Role.AGENT, Permission.CONFIG_READ, False),
        (Role.AGENT, Permission.AGENT_CONTROL, False),
        (Role.AGENT, Permission.INTERACTIONS_READ, False),
        (Role.AGENT, Permission.EXPORT, False),
        (Role.AGENT, Permission.RECORDINGS_READ, False),
        (Role.VIEWER, Permission.REPORTS_READ, True),
        (Role.VIEWER, Permission.INTERACTIONS_READ, True),
        (Role.VIEWER, Permission.EXPORT, True),
        (Role.VIEWER, Permission.RECORDINGS_READ, True),
        (Role.VIEWER, Permission.CONFIG_READ, False),
        (Role.VIEWER, Permission.CONFIG_WRITE, False),
        (Role.VIEWER, Permission.AGENT_CONTROL, False),
        (Role.VIEWER, Permission.DESKTOP, False),
        (Role.VIEWER, Permission.CAMPAIGNS_WRITE, False),
        (Role.VIEWER, Permission.DNC_WRITE, False),
        (Role.VIEWER, Permission.GDPR, False),
    ],
)
def test_role_matrix(role: Role, permission: Permission, allowed: bool) -> None:
    principal = Principal("u", role, frozenset({"acme"}))
    assert principal.can(permission) is allowed
    assert principal.can(permission.value) is allowed  # plain strings work too


def test_unknown_permission_is_refused() -> None:
    assert not Principal("root", Role.ADMINISTRATOR).can("everything")


def test_principal_of_converts_and_validates() -> None:
    p = Principal.of("ann", "viewer", ["acme", "acme"], None)
    assert p == Principal("ann", Role.VIEWER, frozenset({"acme"}))
    with pytest.raises(ValueError):
        Principal.of("ann", "root")


# --- account scoping ---------------------------------------------------------------------------------


def test_administrators_see_every_account_whatever_their_list() -> None:
    for accounts in (frozenset(), frozenset({"acme"})):
        admin = Principal("root", Role.ADMINISTRATOR, accounts)
        assert admin.unrestricted
        assert admin.account_filter() is None
        assert admin.sees_account("acme") and admin.sees_account("globex")
        assert admin.sees_account(None)  # things of no account (users, skills)
        assert admin.sees_agent("a9", "globex")


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.VIEWER, Role.AGENT])
def test_other_roles_see_exactly_their_listed_accounts(role: Role) -> None:
    p = Principal("u", role, frozenset({"acme", "initech"}))
    assert not p.unrestricted
    assert p.account_filter() == frozenset({"acme", "initech"})
    assert p.sees_account("acme") and p.sees_account("initech")
    assert not p.sees_account("globex")
    assert not p.sees_account(None)
    assert not p.sees_account("")
    assert not p.sees_account("*")


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.VIEWER, Role.AGENT])
def test_an_empty_list_means_no_account(role: Role) -> None:
    p = Principal("u", role, frozenset())
    assert p.account_filter() == frozenset()
    assert not p.sees_account("acme")
    assert not p.sees_account(None)


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.VIEWER, Role.AGENT])
def test_star_means_every_account(role: Role) -> None:
    p = Principal("u", role, frozenset({ALL_ACCOUNTS}))
    assert p.unrestricted
    assert p.account_filter() is None
    assert p.sees_account("acme") and p.sees_account(None)


def test_agents_see_their_own_agent_record() -> None:
    agent = Principal("bob", Role.AGENT, frozenset(), agent="a1")
    assert agent.sees_agent("a1", "acme")
    assert not agent.sees_agent("a2", "acme")
    scoped = Principal("bob", Role.AGENT, frozenset({"acme"}), agent="a1")
    assert scoped.sees_agent("a2", "acme")
    assert not scoped.sees_agent("a3", "globex")
    supervisor = Principal("sue", Role.SUPERVISOR, frozenset({"acme"}))
    assert supervisor.sees_agent("a2", "acme") and not supervisor.sees_agent("a3", "globex")
    viewer = Principal("client", Role.VIEWER, frozenset({"acme"}))
    assert viewer.sees_agent("a2", "acme") and not viewer.sees_agent("a3", "globex")


def test_principal_is_frozen_and_hashable() -> None:
    p = Principal("u", Role.VIEWER, frozenset({"acme"}))
    with pytest.raises(AttributeError):
        p.role = Role.ADMINISTRATOR  # type: ignore[misc]
    assert len({p, Principal("u", Role.VIEWER, frozenset({"acme"}))}) == 1


# --- secrets -----------------------------------------------------------------------------------------


def test_new_token_is_long_random_and_url_safe() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    for t in tokens:
        assert len(t) == 43
        assert set(t) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_tokens_equal() -> None:
    t = new_token()
    assert tokens_equal(t, str(t))
    assert not tokens_equal(t, new_token())
    assert not tokens_equal(t, t[:-1])
    assert not tokens_equal(t, "")
    assert tokens_equal("é", "é")  # non-ASCII does not raise


def test_digest_is_sha256_hex() -> None:
    assert digest("abc") == hashlib.sha256(b"abc").hexdigest()
    assert len(digest(new_token())) == 64
