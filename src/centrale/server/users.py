"""Users, login sessions and API tokens, stored in the ``users``, ``sessions`` and ``api_tokens`` tables.

:class:`UserStore` is framework-free: the HTTP layer calls it and maps :class:`UserError` codes to
statuses. What it guarantees:

* **Passwords** are argon2id PHC strings (:mod:`centrale.server.security`); a hash made with older
  parameters is replaced at the next successful login. :meth:`UserStore.authenticate` verifies
  against a dummy hash when the user does not exist, so "no such user" and "wrong password" take
  about the same time; disabled users are refused the same way.
* **Sessions**: :meth:`UserStore.open_session` returns a cookie secret and a CSRF token; only the
  SHA-256 of the secret is stored (``sessions.id``). A session ends after `session_ttl` seconds
  (absolute, default 12 h) or after `idle_timeout` seconds without use (default 2 h), when the user
  is disabled, deleted, or changes password. ``last_seen`` is written at most once a minute.
  :meth:`UserStore.session` reads the user row on every call, so a change of role or accounts takes
  effect at the next request.
* **API tokens** are ``ctr_`` + 256 random bits, shown once by :meth:`UserStore.create_token`;
  only their SHA-256 is stored, and that digest is the token's id (safe to show, impossible to
  use). A token acts as its user with the user's current role; it stops working when revoked or when
  the user is disabled or deleted. Changing the password keeps tokens (they are separate
  credentials; revoke them explicitly).
* **Usernames**: 1–64 characters of ``A-Z a-z 0-9 _ . @ -``; compared exactly, but a name that
  differs from an existing one only in case is refused as a duplicate (no ``Ann`` next to ``ann``).

Error codes (:attr:`UserError.code`, stable): ``user.exists``, ``user.not_found``,
``user.invalid_name``, ``user.invalid_role``, ``user.invalid_accounts``, ``user.invalid_agent``,
``user.weak_password``, ``user.disabled``, ``token.invalid_name``.
"""

from __future__ import annotations

import builtins
import enum
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher

from centrale.server.security import (
    ALL_ACCOUNTS,
    PASSWORD_HASHER,
    PasswordPolicyError,
    Principal,
    Role,
    digest,
    hash_password,
    new_token,
    verify_and_update,
    verify_password,
)
from centrale.storage.schema import agents, api_tokens, sessions, users

__all__ = [
    "TOKEN_PREFIX",
    "InvalidAccounts",
    "InvalidAgent",
    "InvalidRole",
    "InvalidTokenName",
    "InvalidUsername",
    "TokenRecord",
    "UserDisabled",
    "UserError",
    "UserExists",
    "UserNotFound",
    "UserRecord",
    "UserStore",
    "WeakPassword",
]

TOKEN_PREFIX = "ctr_"
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
TOKEN_NAME_MAX = 200
LAST_SEEN_INTERVAL = 60.0  # seconds between writes of sessions.last_seen / api_tokens.last_used
CACHE_SECONDS = 10.0
"""How long a looked-up session or token is trusted from memory before the database is asked again.
Changes made through this store (log out, disable, role, password, revocation) take effect at once;
a change made by another process on the same database within this many seconds."""


# --- errors ------------------------------------------------------------------------------------------


class UserError(Exception):
    """A refused user operation: `code` is stable (the HTTP layer maps it), `message` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class UserExists(UserError):
    def __init__(self, username: str) -> None:
        super().__init__("user.exists", f"a user named {username!r} already exists")


class UserNotFound(UserError):
    def __init__(self, username: str) -> None:
        super().__init__("user.not_found", f"no user named {username!r}")


class InvalidUsername(UserError):
    def __init__(self, username: str) -> None:
        super().__init__(
            "user.invalid_name",
            f"invalid username {username!r}: 1 to 64 characters among letters, digits, '_', '.', '@', '-'",
        )


class InvalidRole(UserError):
    def __init__(self, role: object) -> None:
        super().__init__(
            "user.invalid_role", f"unknown role {role!r}; expected one of {', '.join(r.value for r in Role)}"
        )


class InvalidAccounts(UserError):
    def __init__(self, message: str) -> None:
        super().__init__("user.invalid_accounts", message)


class InvalidAgent(UserError):
    def __init__(self, agent: str) -> None:
        super().__init__("user.invalid_agent", f"no agent {agent!r}")


class WeakPassword(UserError, PasswordPolicyError):
    """Also a :class:`~centrale.server.security.PasswordPolicyError` (a ValueError)."""

    def __init__(self, message: str) -> None:
        UserError.__init__(self, "user.weak_password", message)


class UserDisabled(UserError):
    def __init__(self, username: str) -> None:
        super().__init__("user.disabled", f"user {username!r} is disabled")


class InvalidTokenName(UserError):
    def __init__(self) -> None:
        super().__init__("token.invalid_name", f"a token name has at most {TOKEN_NAME_MAX} characters")


# --- records -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A stored user, without the password hash."""

    username: str
    role: Role
    accounts: tuple[str, ...]
    agent: str | None
    disabled: bool
    created_at: datetime | None

    def principal(self) -> Principal:
        return Principal(self.username, self.role, frozenset(self.accounts), self.agent)


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """A stored API token: `id` is the SHA-256 hex of the secret (the secret itself is not kept)."""

    id: str
    username: str
    name: str
    created: float
    last_used: float | None
    revoked: bool


class _Unset(enum.Enum):
    UNSET = 0


UNSET = _Unset.UNSET


# --- the store ---------------------------------------------------------------------------------------


class UserStore:
    """Users, sessions and API tokens on a SQLAlchemy engine (SQLite or PostgreSQL, migrated)."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        clock: Callable[[], float] = time.time,
        session_ttl: float = 12 * 3600,
        idle_timeout: float = 2 * 3600,
        hasher: PasswordHasher | None = None,
    ) -> None:
        if session_ttl <= 0 or idle_timeout <= 0:
            raise ValueError("session_ttl and idle_timeout must be positive")
        self._engine = engine
        self._clock = clock
        self.session_ttl = float(session_ttl)
        self.idle_timeout = float(idle_timeout)
        self._hasher = hasher or PASSWORD_HASHER
        self._dummy_hash: str | None = None
        self._lock = threading.Lock()
        # digest → (principal, csrf or None for tokens, expires, last_seen written, looked up at)
        self._cache: dict[str, tuple[Principal, str | None, float, float, float]] = {}

    # --- users ---------------------------------------------------------------------------------------

    def create(
        self,
        username: str,
        password: str,
        role: Role | str,
        accounts: Iterable[str] = (),
        agent: str | None = None,
    ) -> Principal:
        """Add a user; raises :class:`UserError` (exists, invalid name/role/accounts/agent, weak password)."""
        _check_username(username)
        the_role = _role(role)
        the_accounts = _accounts(accounts)
        password_hash = self._hash(password)
        with self._engine.begin() as conn:
            clash = conn.execute(
                sa.select(users.c.username).where(sa.func.lower(users.c.username) == username.lower())
            ).first()
            if clash is not None:
                raise UserExists(clash.username)
            if agent is not None:
                _check_agent(conn, agent)
            try:
                conn.execute(
                    users.insert().values(
                        username=username,
                        password_hash=password_hash,
                        role=the_role.value,
                        accounts=list(the_accounts),
                        agent=agent,
                        disabled=False,
                    )
                )
            except sa.exc.IntegrityError as exc:  # a concurrent create of the same name
                raise UserExists(username) from exc
        return Principal(username, the_role, frozenset(the_accounts), agent)

    def get(self, username: str) -> UserRecord | None:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(*_USER_COLUMNS).where(users.c.username == username)).first()
        return None if row is None else _user_record(row)

    def list(self) -> builtins.list[UserRecord]:
        """Every user, by username."""
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(*_USER_COLUMNS).order_by(users.c.username)).all()
        return [_user_record(row) for row in rows]

    def update(
        self,
        username: str,
        *,
        role: Role | str | None = None,
        accounts: Iterable[str] | None = None,
        agent: str | _Unset | None = UNSET,
        disabled: bool | None = None,
    ) -> UserRecord:
        """Change what is given (``agent=None`` clears the agent); disabling ends the user's sessions."""
        self.forget(username)  # the next request sees the new role, accounts or agent
        values: dict[str, Any] = {}
        if role is not None:
            values["role"] = _role(role).value
        if accounts is not None:
            values["accounts"] = list(_accounts(accounts))
        if disabled is not None:
            values["disabled"] = bool(disabled)
        with self._engine.begin() as conn:
            if not isinstance(agent, _Unset):
                if agent is not None:
                    _check_agent(conn, agent)
                values["agent"] = agent
            if values:
                updated = conn.execute(users.update().where(users.c.username == username).values(**values))
                found = updated.rowcount == 1
            else:
                exists = sa.select(users.c.username).where(users.c.username == username)
                found = conn.execute(exists).first() is not None
            if not found:
                raise UserNotFound(username)
            if disabled:
                conn.execute(sessions.delete().where(sessions.c.username == username))
            row = conn.execute(sa.select(*_USER_COLUMNS).where(users.c.username == username)).one()
        return _user_record(row)

    def set_password(self, username: str, password: str, *, keep_session: str | None = None) -> None:
        """Set a new password (policy checked) and end the user's sessions, except `keep_session`'s."""
        password_hash = self._hash(password)
        self.forget(username)
        with self._engine.begin() as conn:
            updated = conn.execute(
                users.update().where(users.c.username == username).values(password_hash=password_hash)
            )
            if updated.rowcount != 1:
                raise UserNotFound(username)
            ending = sessions.delete().where(sessions.c.username == username)
            if keep_session is not None:
                ending = ending.where(sessions.c.id != digest(keep_session))
            conn.execute(ending)

    def delete(self, username: str) -> None:
        """Remove a user with its sessions and tokens (the audit log keeps the name)."""
        self.forget(username)
        with self._engine.begin() as conn:
            conn.execute(sessions.delete().where(sessions.c.username == username))
            conn.execute(api_tokens.delete().where(api_tokens.c.username == username))
            if conn.execute(users.delete().where(users.c.username == username)).rowcount != 1:
                raise UserNotFound(username)

    def authenticate(self, username: str, password: str) -> Principal | None:
        """The user's principal if `password` is right and the user enabled; otherwise None.

        Takes about as long for an unknown user as for a wrong password (a dummy hash is verified).
        A hash made with outdated parameters is replaced.
        """
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(users.c.password_hash, *_USER_COLUMNS).where(users.c.username == username)
            ).first()
        if row is None:
            verify_password(self._dummy(), password, hasher=self._hasher)
            return None
        ok, new_hash = verify_and_update(row.password_hash, password, hasher=self._hasher)
        if not ok or row.disabled:
            return None
        if new_hash is not None:
            with self._engine.begin() as conn:
                conn.execute(
                    users.update()
                    .where(users.c.username == username, users.c.password_hash == row.password_hash)
                    .values(password_hash=new_hash)
                )
        return _user_record(row).principal()

    # --- sessions ------------------------------------------------------------------------------------

    def open_session(self, username: str) -> tuple[str, str]:
        """Start a session for an (authenticated) user: ``(cookie secret, csrf token)``.

        Only the SHA-256 of the cookie secret is stored. Expired sessions are purged on the way.
        """
        secret, csrf = new_token(), new_token()
        now = self._clock()
        with self._engine.begin() as conn:
            row = conn.execute(sa.select(users.c.disabled).where(users.c.username == username)).first()
            if row is None:
                raise UserNotFound(username)
            if row.disabled:
                raise UserDisabled(username)
            self._purge(conn, now)
            conn.execute(
                sessions.insert().values(
                    id=digest(secret),
                    username=username,
                    csrf=csrf,
                    created=now,
                    last_seen=now,
                    expires=now + self.session_ttl,
                )
            )
        return secret, csrf

    def session(self, secret: str) -> tuple[Principal, str] | None:
        """The principal and CSRF token of a live session; None when unknown, expired, idle or disabled."""
        if not secret:
            return None
        sid = digest(secret)
        now = self._clock()
        cached = self._cache.get(sid)
        if cached is not None:
            who, csrf, expires, last_seen, looked_up = cached
            fresh = 0 <= now - looked_up < CACHE_SECONDS and now < expires
            if csrf is not None and fresh and now - last_seen < min(LAST_SEEN_INTERVAL, self.idle_timeout):
                return who, csrf
            self._cache.pop(sid, None)  # stale: ask the database
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(sessions.c.csrf, sessions.c.last_seen, sessions.c.expires, *_USER_COLUMNS)
                .join(users, users.c.username == sessions.c.username)
                .where(sessions.c.id == sid)
            ).first()
        if row is None:
            return None
        if now >= row.expires or now - row.last_seen > self.idle_timeout or row.disabled:
            with self._engine.begin() as conn:
                conn.execute(sessions.delete().where(sessions.c.id == sid))
            return None
        last_seen = row.last_seen
        if now - row.last_seen >= LAST_SEEN_INTERVAL:
            with self._engine.begin() as conn:
                conn.execute(sessions.update().where(sessions.c.id == sid).values(last_seen=now))
            last_seen = now
        who = _user_record(row).principal()
        self._cache[sid] = (who, row.csrf, row.expires, last_seen, now)
        return who, row.csrf

    def close_session(self, secret: str) -> None:
        """End one session (log out); unknown secrets are ignored."""
        self._cache.pop(digest(secret), None)
        with self._engine.begin() as conn:
            conn.execute(sessions.delete().where(sessions.c.id == digest(secret)))

    def close_all_sessions(self, username: str) -> int:
        """End every session of `username`; returns how many there were."""
        self.forget(username)
        with self._engine.begin() as conn:
            return conn.execute(sessions.delete().where(sessions.c.username == username)).rowcount

    def purge_sessions(self) -> int:
        """Delete expired and idle sessions; returns how many."""
        with self._engine.begin() as conn:
            return self._purge(conn, self._clock())

    def _purge(self, conn: sa.Connection, now: float) -> int:
        stale = sa.or_(sessions.c.expires <= now, sessions.c.last_seen < now - self.idle_timeout)
        return conn.execute(sessions.delete().where(stale)).rowcount

    # --- API tokens ----------------------------------------------------------------------------------

    def create_token(self, username: str, name: str = "") -> str:
        """A new API token for `username`, returned once (``ctr_…``); only its SHA-256 is stored."""
        if len(name) > TOKEN_NAME_MAX:
            raise InvalidTokenName()
        secret = TOKEN_PREFIX + new_token()
        with self._engine.begin() as conn:
            row = conn.execute(sa.select(users.c.disabled).where(users.c.username == username)).first()
            if row is None:
                raise UserNotFound(username)
            if row.disabled:
                raise UserDisabled(username)
            conn.execute(
                api_tokens.insert().values(
                    id=digest(secret), username=username, name=name, created=self._clock(), revoked=False
                )
            )
        return secret

    def token(self, secret: str) -> Principal | None:
        """The principal an API token acts as; None when unknown, revoked or its user disabled."""
        if not secret.startswith(TOKEN_PREFIX):
            return None
        tid = digest(secret)
        now = self._clock()
        cached = self._cache.get(tid)
        if cached is not None and cached[1] is None and 0 <= now - cached[4] < CACHE_SECONDS:
            return cached[0]
        self._cache.pop(tid, None)
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(api_tokens.c.revoked, api_tokens.c.last_used, *_USER_COLUMNS)
                .join(users, users.c.username == api_tokens.c.username)
                .where(api_tokens.c.id == tid)
            ).first()
        if row is None or row.revoked or row.disabled:
            return None
        if row.last_used is None or now - row.last_used >= LAST_SEEN_INTERVAL:
            with self._engine.begin() as conn:
                conn.execute(api_tokens.update().where(api_tokens.c.id == tid).values(last_used=now))
        who = _user_record(row).principal()
        self._cache[tid] = (who, None, float("inf"), now, now)
        return who

    def forget(self, username: str | None = None) -> None:
        """Drop remembered sessions and tokens (of one user, or all): the next look-up asks the database."""
        if username is None:
            self._cache.clear()
            return
        for key in [k for k, v in self._cache.items() if v[0].username == username]:
            self._cache.pop(key, None)

    def revoke_token(self, token_id: str, *, username: str | None = None) -> bool:
        """Revoke a token by id (its digest); with `username`, only if it is that user's. Whether it was."""
        self._cache.pop(token_id, None)
        query = api_tokens.update().where(api_tokens.c.id == token_id, api_tokens.c.revoked == sa.false())
        if username is not None:
            query = query.where(api_tokens.c.username == username)
        with self._engine.begin() as conn:
            return conn.execute(query.values(revoked=True)).rowcount == 1

    def tokens(self, username: str) -> builtins.list[TokenRecord]:
        """The user's tokens (revoked ones included), oldest first."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(api_tokens)
                .where(api_tokens.c.username == username)
                .order_by(api_tokens.c.created, api_tokens.c.id)
            ).all()
        return [TokenRecord(r.id, r.username, r.name, r.created, r.last_used, bool(r.revoked)) for r in rows]

    # --- helpers -------------------------------------------------------------------------------------

    def _hash(self, password: str) -> str:
        try:
            return hash_password(password, hasher=self._hasher)
        except PasswordPolicyError as exc:
            raise WeakPassword(str(exc)) from exc

    def _dummy(self) -> str:
        with self._lock:
            if self._dummy_hash is None:
                self._dummy_hash = self._hasher.hash(new_token())
            return self._dummy_hash


_USER_COLUMNS = (
    users.c.username,
    users.c.role,
    users.c.accounts,
    users.c.agent,
    users.c.disabled,
    users.c.created_at,
)


def _user_record(row: Any) -> UserRecord:
    return UserRecord(
        username=row.username,
        role=Role(row.role),
        accounts=tuple(row.accounts or ()),
        agent=row.agent,
        disabled=bool(row.disabled),
        created_at=row.created_at,
    )


def _check_username(username: str) -> None:
    if not isinstance(username, str) or USERNAME_PATTERN.fullmatch(username) is None:
        raise InvalidUsername(username)


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InvalidRole(role) from None


def _accounts(accounts: Iterable[str]) -> tuple[str, ...]:
    if isinstance(accounts, str):
        raise InvalidAccounts("accounts must be a list of account ids, not one string")
    result = set()
    for account in accounts:
        if not isinstance(account, str) or not account or account != account.strip():
            raise InvalidAccounts(f"invalid account id {account!r}")
        result.add(account)
    if ALL_ACCOUNTS in result and len(result) > 1:
        raise InvalidAccounts(f"{ALL_ACCOUNTS!r} means every account and stands alone")
    return tuple(sorted(result))


def _check_agent(conn: sa.Connection, agent: str) -> None:
    if conn.execute(sa.select(agents.c.id).where(agents.c.id == agent)).first() is None:
        raise InvalidAgent(agent)
