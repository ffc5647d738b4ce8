"""Passwords, roles, permissions and secrets for the live server (framework-free).

Passwords
---------
Hashed with **argon2id** (argon2-cffi) at RFC 9106's "low memory" profile: 3 passes over 64 MiB
with 4 lanes, a 16-byte random salt and a 32-byte tag — roughly 50 ms per login on a small server.
The stored value is a full PHC string (``$argon2id$v=19$m=65536,t=3,p=4$…``), so the parameters
travel with each hash: when :data:`PASSWORD_HASHER` changes, :func:`verify_and_update` still
verifies old hashes and hands back a new one to store. New passwords must have at least
:data:`MIN_PASSWORD_LENGTH` characters (and at most :data:`MAX_PASSWORD_LENGTH`); a password that
breaks the rule is refused with :class:`PasswordPolicyError`. Verification never applies the
policy, so tightening it does not lock anyone out.

Roles and accounts
------------------
Four roles (:class:`Role`). A :class:`Principal` — who is making a request — carries the role, the
accounts the user is scoped to and, for agents, the agent record the user works as. Which accounts
a principal sees (:meth:`Principal.sees_account`, :meth:`Principal.account_filter`):

* **administrator** — every account, always; the stored list is ignored.
* **supervisor**, **viewer** (a client of an outsourcing center: read-only, its own accounts) and
  **agent** — exactly the listed accounts. The single entry ``"*"`` (:data:`ALL_ACCOUNTS`) means
  every account. An **empty list means no account at all**: a user created without accounts sees
  nothing until given some (fail closed), it never means "everything".
* an agent additionally sees **its own agent record** (:meth:`Principal.sees_agent`), whatever the
  account lists say.

Permissions
-----------
What a role may do is data (:data:`ROLE_PERMISSIONS`); every check is ``principal.can(permission)``
plus, for anything that belongs to an account, ``principal.sees_account(account)``.

================== ============= ========== ===== ======
permission         administrator supervisor agent viewer
================== ============= ========== ===== ======
config.read        yes           yes
config.write       yes
agent.control      yes           yes
desktop            yes           yes        yes
interactions.read  yes           yes              yes
reports.read       yes           yes              yes
export             yes           yes              yes
recordings.read    yes           yes              yes
campaigns.write    yes           yes
lists.write        yes           yes
dnc.write          yes           yes
gdpr               yes
audit.read         yes
================== ============= ========== ===== ======

* ``config.write`` is every change to the configuration — accounts, queues, skills, dispositions,
  agents, users, webhooks — and is the administrator's alone.
* ``agent.control`` is what a supervisor does to agents at run time: change an agent's state (force
  a break, log out) and its skill levels. It is not ``config.write``: a supervisor can neither
  create agents nor touch users or accounts.
* ``desktop`` is an agent's own desktop (log in, go ready, accept, hold, transfer, wrap up with a
  disposition). It only makes sense for a principal with an ``agent``; supervisors and
  administrators who also take calls have it too.
* ``interactions.read``, ``reports.read``, ``export`` (CSV) and ``recordings.read`` are always
  limited to the principal's accounts; a viewer gets them for its own accounts and nothing else.
* ``gdpr`` (erasure and access requests) and ``audit.read`` are the administrator's.

Secrets
-------
:func:`new_token` makes session cookies, CSRF tokens and API-token secrets (256 bits from
:mod:`secrets`); :func:`tokens_equal` compares them in constant time; :func:`digest` (SHA-256 hex)
is what the database keeps instead of a session cookie or an API token, so a copy of the database
does not log anyone in.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = [
    "ALL_ACCOUNTS",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "PASSWORD_HASHER",
    "ROLE_PERMISSIONS",
    "PasswordPolicyError",
    "Permission",
    "Principal",
    "Role",
    "check_password_policy",
    "digest",
    "hash_password",
    "new_token",
    "tokens_equal",
    "verify_and_update",
    "verify_password",
]

# --- passwords ---------------------------------------------------------------------------------------

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024

#: The hasher for new passwords: argon2id, RFC 9106 low-memory profile, written out so that a change
#: of the library's defaults does not silently change ours.
PASSWORD_HASHER = PasswordHasher(
    time_cost=3, memory_cost=64 * 1024, parallelism=4, hash_len=32, salt_len=16, type=Type.ID
)


class PasswordPolicyError(ValueError):
    """A new password breaks the password rules; the message says which, for a person to read."""


def check_password_policy(password: str) -> None:
    """Raise :class:`PasswordPolicyError` unless `password` may be set as a new password."""
    if not isinstance(password, str):
        raise PasswordPolicyError("the password must be text")
    if not password:
        raise PasswordPolicyError("the password is empty")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError(
            f"the password is too short: {len(password)} characters, at least {MIN_PASSWORD_LENGTH} needed"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"the password is too long: at most {MAX_PASSWORD_LENGTH} characters")


def hash_password(password: str, *, hasher: PasswordHasher | None = None) -> str:
    """The PHC string to store for a new `password` (policy checked first)."""
    check_password_policy(password)
    return (hasher or PASSWORD_HASHER).hash(password)


def verify_password(stored_hash: str, password: str, *, hasher: PasswordHasher | None = None) -> bool:
    """Whether `password` matches `stored_hash`. A malformed hash is a mismatch, never an exception."""
    try:
        return (hasher or PASSWORD_HASHER).verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_and_update(
    stored_hash: str, password: str, *, hasher: PasswordHasher | None = None
) -> tuple[bool, str | None]:
    """Verify `password`; on success also return a fresh hash when `stored_hash`'s parameters are stale.

    Returns ``(False, None)`` on a mismatch, ``(True, None)`` when the stored hash is current and
    ``(True, new_hash)`` when the caller should store ``new_hash`` instead.
    """
    h = hasher or PASSWORD_HASHER
    if not verify_password(stored_hash, password, hasher=h):
        return False, None
    try:
        stale = h.check_needs_rehash(stored_hash)
    except (InvalidHashError, ValueError):  # pragma: no cover - it verified, so it parses
        stale = True
    return True, (h.hash(password) if stale else None)


# --- roles and permissions ---------------------------------------------------------------------------

ALL_ACCOUNTS = "*"


class Role(enum.StrEnum):
    ADMINISTRATOR = "administrator"
    SUPERVISOR = "supervisor"
    AGENT = "agent"
    VIEWER = "viewer"


class Permission(enum.StrEnum):
    CONFIG_READ = "config.read"
    CONFIG_WRITE = "config.write"
    AGENT_CONTROL = "agent.control"
    DESKTOP = "desktop"
    INTERACTIONS_READ = "interactions.read"
    REPORTS_READ = "reports.read"
    EXPORT = "export"
    RECORDINGS_READ = "recordings.read"
    CAMPAIGNS_WRITE = "campaigns.write"
    LISTS_WRITE = "lists.write"
    DNC_WRITE = "dnc.write"
    GDPR = "gdpr"
    AUDIT_READ = "audit.read"


_P = Permission
_SUPERVISOR = frozenset(
    {
        _P.CONFIG_READ,
        _P.AGENT_CONTROL,
        _P.DESKTOP,
        _P.INTERACTIONS_READ,
        _P.REPORTS_READ,
        _P.EXPORT,
        _P.RECORDINGS_READ,
        _P.CAMPAIGNS_WRITE,
        _P.LISTS_WRITE,
        _P.DNC_WRITE,
    }
)

#: The permission matrix (see the module docstring for the table and what each permission covers).
ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = MappingProxyType(
    {
        Role.ADMINISTRATOR: frozenset(Permission),
        Role.SUPERVISOR: _SUPERVISOR,
        Role.AGENT: frozenset({_P.DESKTOP}),
        Role.VIEWER: frozenset({_P.INTERACTIONS_READ, _P.REPORTS_READ, _P.EXPORT, _P.RECORDINGS_READ}),
    }
)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is making a request: a user's role, account scope and agent record.

    `accounts` is the stored list as a set; administrators ignore it, for everyone else it is the
    exact scope, ``{"*"}`` meaning every account and the empty set none (see the module docstring).
    """

    username: str
    role: Role
    accounts: frozenset[str] = field(default_factory=frozenset)
    agent: str | None = None

    @classmethod
    def of(
        cls, username: str, role: Role | str, accounts: Iterable[str] = (), agent: str | None = None
    ) -> Principal:
        """A principal from plain values (a role name is converted; an unknown one is a ValueError)."""
        return cls(username, Role(role), frozenset(accounts), agent)

    @property
    def unrestricted(self) -> bool:
        """Whether this principal sees every account (administrator, or ``"*"`` in its list)."""
        return self.role is Role.ADMINISTRATOR or ALL_ACCOUNTS in self.accounts

    def sees_account(self, account_id: str | None) -> bool:
        """Whether data of `account_id` is visible; data of no account (None) only when unrestricted."""
        if self.unrestricted:
            return True
        return account_id is not None and account_id in self.accounts

    def sees_agent(self, agent_id: str, account_id: str | None) -> bool:
        """Whether the agent record `agent_id` (belonging to `account_id`) is visible."""
        return (self.agent is not None and agent_id == self.agent) or self.sees_account(account_id)

    def account_filter(self) -> frozenset[str] | None:
        """The accounts to restrict queries to; None means no restriction (every account)."""
        if self.unrestricted:
            return None
        return self.accounts

    def can(self, permission: Permission | str) -> bool:
        """Whether the role grants `permission` (account scope is checked separately)."""
        try:
            wanted = Permission(permission)
        except ValueError:
            return False
        return wanted in ROLE_PERMISSIONS[self.role]


# --- secrets -----------------------------------------------------------------------------------------


def new_token() -> str:
    """A fresh random secret: 32 bytes, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


def tokens_equal(a: str, b: str) -> bool:
    """Constant-time comparison of two secrets (a CSRF header against the session's token)."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def digest(secret: str) -> str:
    """SHA-256 hex of `secret`: what is stored for session cookies and API tokens."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
