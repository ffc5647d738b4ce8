"""Telephony settings: where the SIP service listens, which rtpengine it drives, which numbers it
answers and which SIP accounts agents' phones register with. Read from YAML by ``centrale serve
--telephony FILE`` (:func:`load`), every problem reported as ``file: field: problem``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from centrale.telephony.flood import FloodLimits, check_networks


class SipAccount(BaseModel):
    """A phone's SIP account: the phone registers as `user` with `password` and rings for `agent` by
    default; without `agent` it is a shared phone agents log in to (centrale.telephony.phones)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.+-]+$")
    password: str = Field(min_length=8)
    agent: str | None = Field(None, min_length=1)
    supervisor: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_.@-]{1,64}$",
        description="the centrale user (supervisor or administrator) whose phone this is: it rings "
        "when that user monitors a call (centrale.telephony.monitor)",
    )


def _host_port(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected host:port, got {value!r}")
    return value


class AmdSettings(BaseModel):
    """The carrier's answering-machine detection, read from a header of its 183/200 (``trunk.amd``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    header: str = Field("X-AMD", pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$", description="the header's name")
    machine: list[str] = Field(default_factory=lambda: ["MACHINE"], min_length=1)
    human: list[str] = Field(default_factory=lambda: ["HUMAN"], min_length=1)
    unsure: Literal["human", "machine"] = Field(
        "human", description="what any other value (NOTSURE …) counts as; human passes it to an agent"
    )

    @model_validator(mode="after")
    def _disjoint(self) -> AmdSettings:
        both = {v.upper() for v in self.machine} & {v.upper() for v in self.human}
        if both:
            raise ValueError(f"values both machine and human: {', '.join(sorted(both))}")
        return self


class IceServer(BaseModel):
    """A STUN or TURN server the browser softphone may use to reach rtpengine (``ice_servers``).

    TURN wants credentials: a fixed ``username``/``credential``, or — better — the TURN server's
    shared ``secret`` (coturn's ``static-auth-secret``, the "TURN REST API"), from which each phone
    session gets its own credential that expires after ``ttl`` seconds, so no lasting TURN
    password ever reaches a browser.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    urls: list[str] = Field(min_length=1, description="stun:, stuns:, turn: or turns: URLs (RFC 7064/7065)")
    username: str | None = Field(None, min_length=1)
    credential: str | None = Field(None, min_length=1)
    secret: str | None = Field(None, min_length=8, description="the TURN server's shared secret")
    ttl: int = Field(86_400, ge=60, le=7 * 86_400, description="seconds a credential from `secret` lasts")

    @field_validator("urls")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if re.fullmatch(r"(stuns?|turns?):[^\s/?#]+(\?transport=(udp|tcp))?", url) is None:
                raise ValueError(
                    f"{url!r} is not a STUN or TURN URL (such as turn:turn.example.com:3478?transport=udp)"
                )
        return value

    @model_validator(mode="after")
    def _credentials(self) -> IceServer:
        if (self.username is None) != (self.credential is None):
            raise ValueError("give both username and credential, or neither")
        if self.secret is not None and self.username is not None:
            raise ValueError("give a secret or a username and credential, not both")
        if self.turn and self.secret is None and self.username is None:
            raise ValueError("a TURN server needs a secret, or a username and credential")
        return self

    @property
    def turn(self) -> bool:
        return any(url.startswith("turn") for url in self.urls)


class TrunkSettings(BaseModel):
    """The outbound SIP trunk (the dialer's calls): the carrier's gateway, credentials, caller ID."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(min_length=1, description="the gateway's address (UDP)")
    port: int = Field(5060, ge=1, le=65535)
    username: str | None = Field(None, min_length=1, description="digest user for 401/407 challenges")
    password: str | None = Field(None, min_length=1)
    caller_id: str | None = Field(
        None, pattern=r"^\+?[0-9A-Za-z_.-]+$", description="when a campaign gives none"
    )
    max_calls: int = Field(30, ge=1, le=10_000, description="concurrent calls; more dials wait for a line")
    routes: dict[str, str] = Field(
        default_factory=dict, description="number prefix → host:port of another gateway (longest wins)"
    )
    message: str | None = Field(None, description="WAV information message; a generated one if unset")
    amd: AmdSettings | None = Field(
        None, description="the carrier's answering-machine header (off when unset)"
    )

    @field_validator("routes")
    @classmethod
    def _routes(cls, value: dict[str, str]) -> dict[str, str]:
        for prefix, address in value.items():
            if not prefix or not all(c.isalnum() or c in "+*#" for c in prefix):
                raise ValueError(f"route prefix {prefix!r}: use digits, + * #")
            _host_port(address)
        return value

    @field_validator("message")
    @classmethod
    def _message(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @model_validator(mode="after")
    def _credentials(self) -> TrunkSettings:
        if (self.username is None) != (self.password is None):
            raise ValueError("give both username and password, or neither")
        return self

    def gateway_for(self, number: str) -> tuple[str, int]:
        """The gateway a number goes to: the longest matching route prefix, else host:port."""
        best = max((p for p in self.routes if number.startswith(p)), key=len, default=None)
        if best is None:
            return self.host, self.port
        host, _, port = self.routes[best].rpartition(":")
        return host, int(port)


RecordingMode = Literal["on", "announce", "consent", "off"]
PromptName = Literal[
    "greeting", "menu", "invalid", "notice", "consent", "callback_offer", "callback_confirmed"
]


class MenuOption(BaseModel):
    """A keypad menu option: queue the call (`queue`), or ask to be called back (`callback`: the
    queue the callback waits in, at the place a call arriving now would have)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    queue: str | None = Field(None, min_length=1)
    callback: str | None = Field(None, min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _plain(cls, value: object) -> object:
        return {"queue": value} if isinstance(value, str) else value  # "1": sales

    @model_validator(mode="after")
    def _one(self) -> MenuOption:
        if (self.queue is None) == (self.callback is None):
            raise ValueError("give either queue or callback")
        return self


class ServiceNumber(BaseModel):
    """What a caller to one service number hears (centrale.telephony.ivr): a greeting, a keypad
    menu, position and expected-wait announcements. A plain ``"1001": support`` is just the queue."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    queue: str = Field(min_length=1, description="the queue; also the menu's default after `tries`")
    language: Literal["en", "nl"] = Field("en", description="language of the generated prompts")
    greeting: str | None = Field(None, min_length=1, description="words of the greeting (none if unset)")
    menu: dict[str, MenuOption] = Field(default_factory=dict, description="keypad digit → option")
    menu_prompt: str | None = Field(None, min_length=1, description="words of the menu (made up if unset)")
    tries: int = Field(3, ge=1, le=10, description="menu / consent prompts before the default")
    input_timeout: float = Field(5.0, ge=1, le=60, description="seconds of silence after a prompt")
    announce_every: float | None = Field(
        None, ge=5, le=3600, description="seconds between position/wait announcements (off if unset)"
    )
    announce: list[Literal["position", "wait"]] = Field(
        default_factory=lambda: ["position", "wait"],  # type: ignore[arg-type]
        min_length=1,
        description="what the announcements say",
    )
    files: dict[PromptName, str] = Field(
        default_factory=dict, description="prompt → your own WAV (8 kHz mono 16 bit) instead of speech"
    )

    @model_validator(mode="before")
    @classmethod
    def _plain(cls, value: object) -> object:
        if value == "":
            raise ValueError("empty queue id")
        return {"queue": value} if isinstance(value, str) else value  # "1001": support

    @field_validator("menu")
    @classmethod
    def _digits(cls, value: dict[str, MenuOption]) -> dict[str, MenuOption]:
        for digit in value:
            if len(digit) != 1 or digit not in "0123456789*#":
                raise ValueError(f"menu key {digit!r}: use one keypad digit 0-9, * or #")
        return value

    @field_validator("files")
    @classmethod
    def _files(cls, value: dict[str, str]) -> dict[str, str]:
        from centrale.telephony.prompts import check_wav

        for name, path in value.items():
            if not Path(path).is_file():
                raise ValueError(f"{name}: no such file: {path}")
            problem = check_wav(path)
            if problem is not None:
                raise ValueError(f"{name}: {problem}")
        return value

    @property
    def plain(self) -> bool:
        """Nothing to say before the queue: the call is queued before it is answered (as ever)."""
        return self.greeting is None and "greeting" not in self.files and not self.menu

    def queues(self) -> set[str]:
        """Every queue a call to this number may end up in."""
        out = {self.queue}
        for option in self.menu.values():
            out.add(option.queue or option.callback or self.queue)
        return out


class TelephonySettings(BaseModel):
    """The SIP service's settings (off unless given)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sip_host: str = Field("127.0.0.1", description="address the SIP service listens on (UDP)")
    sip_port: int = Field(5060, ge=1, le=65535)
    rtpengine: str = Field("127.0.0.1:2223", description="rtpengine's NG control address host:port")
    realm: str = Field("centrale", min_length=1, description="digest realm for REGISTER")
    numbers: dict[str, ServiceNumber] = Field(
        default_factory=dict, description="service number → queue id, or what its callers hear"
    )
    accounts: list[SipAccount] = Field(default_factory=list)
    music: str | None = Field(None, description="WAV file for music on hold; a tone sequence if unset")
    ng_timeout: float = Field(3.0, gt=0, le=30)
    register_max_expires: int = Field(3600, ge=60)
    trunk: TrunkSettings | None = Field(None, description="the outbound SIP trunk for the dialer")
    limits: FloodLimits = Field(
        default_factory=FloodLimits, description="per-source flood limits (centrale.telephony.flood)"
    )
    recordings_dir: str | None = Field(
        None, description="where bridged calls' WAV recordings go (recording is off when unset)"
    )
    recording_spool: str | None = Field(
        None, description="rtpengine's --recording-dir (its per-call pcaps); needed with recordings_dir"
    )
    recording: dict[str, RecordingMode] = Field(
        default_factory=dict,
        description="account → on | announce | consent | off (on: recorded without a notice, the default)",
    )
    dtmf_listen: str | None = Field(
        None, description="host:port where rtpengine's --dtmf-log-dest sends keypad digits (RFC 2833)"
    )
    prompt_cache: str | None = Field(
        None, description="directory for generated announcement WAVs (a temporary one if unset)"
    )
    # SIP over WebSocket (RFC 7118) for browser softphones (centrale.telephony.websocket): off unless
    # ws_port is set; wss when a certificate and key are given.
    ws_port: int | None = Field(None, ge=1, le=65535, description="WebSocket port (on sip_host)")
    ws_cert: str | None = Field(None, description="PEM certificate for wss (with ws_key)")
    ws_key: str | None = Field(None, description="PEM private key for wss (with ws_cert)")
    ws_url: str | None = Field(
        None, pattern=r"^wss?://", description="the URL browsers use, when a proxy stands in front"
    )
    ws_origins: list[str] = Field(
        default_factory=list,
        description="web origins (scheme://host[:port]) whose pages may connect; empty: any (logged)",
    )
    ws_max_connections_per_source: int = Field(20, ge=1, description="open WebSockets per IP address")
    ws_max_connections: int = Field(5000, ge=1, description="open WebSockets from all addresses together")
    ws_connections_per_second: float = Field(2.0, gt=0, description="new WebSockets per IP address/s")
    ws_connection_burst: int = Field(20, ge=1, description="new WebSockets per IP address in a burst")
    ws_handshake_timeout: float = Field(10.0, gt=0, le=120, description="seconds to finish the handshake")
    ws_trusted_proxies: list[str] = Field(
        default_factory=list,
        description="reverse proxies (addresses or networks) whose forwarding header names the client",
    )
    ice_servers: list[IceServer] = Field(
        default_factory=list, description="STUN/TURN servers for the browser softphone (none: direct)"
    )
    ice_transport_policy: Literal["all", "relay"] = Field(
        "all", description="relay: the browser sends media only through the TURN servers"
    )
    ws_forwarded_header: Literal["x-forwarded-for", "forwarded"] = Field(
        "x-forwarded-for",
        description="the header the trusted proxies write: X-Forwarded-For, or Forwarded (RFC 7239)",
    )

    @field_validator("ws_trusted_proxies")
    @classmethod
    def _proxies(cls, value: list[str]) -> list[str]:
        return check_networks(value)

    @field_validator("ws_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        out = []
        for item in value:
            origin = item.strip().rstrip("/").lower()
            if re.fullmatch(r"https?://[^/\s?#@]+", origin) is None:
                raise ValueError(f"{item!r} is not a web origin (such as https://centrale.example.com)")
            out.append(origin)
        return out

    @field_validator("ws_cert", "ws_key")
    @classmethod
    def _pem(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @model_validator(mode="after")
    def _websocket(self) -> TelephonySettings:
        if (self.ws_cert is None) != (self.ws_key is None):
            raise ValueError("give both ws_cert and ws_key (wss), or neither (ws)")
        if self.ws_connection_burst < self.ws_connections_per_second:
            raise ValueError("ws_connection_burst must be at least ws_connections_per_second")
        if self.ice_transport_policy == "relay" and not any(s.turn for s in self.ice_servers):
            raise ValueError("ice_transport_policy relay needs a TURN server in ice_servers")
        return self

    def ice_for(self, user: str, now: float) -> list[dict[str, Any]]:
        """The ``iceServers`` of an RTCPeerConnection for the softphone of SIP user `user` at epoch
        `now`: a server with a ``secret`` gets the TURN REST API credential — username
        ``<expiry>:<user>``, credential base64(HMAC-SHA1(secret, username)) — which coturn's
        ``use-auth-secret`` checks without knowing the user."""
        out: list[dict[str, Any]] = []
        for server in self.ice_servers:
            entry: dict[str, Any] = {"urls": list(server.urls)}
            if server.secret is not None:
                username = f"{int(now) + server.ttl}:{user}"
                digest = hmac.new(server.secret.encode(), username.encode(), hashlib.sha1).digest()
                entry |= {"username": username, "credential": base64.b64encode(digest).decode()}
            elif server.username is not None:
                entry |= {"username": server.username, "credential": server.credential}
            out.append(entry)
        return out

    @property
    def websocket_url(self) -> str | None:
        """Where a browser softphone connects (None when the WebSocket listener is off)."""
        if self.ws_port is None:
            return None
        if self.ws_url is not None:
            return self.ws_url
        scheme = "wss" if self.ws_cert else "ws"
        return f"{scheme}://{self.sip_host}:{self.ws_port}"

    @field_validator("rtpengine")
    @classmethod
    def _address(cls, value: str) -> str:
        return _host_port(value)

    @field_validator("numbers")
    @classmethod
    def _numbers(cls, value: dict[str, ServiceNumber]) -> dict[str, ServiceNumber]:
        for number in value:
            if not number or not all(c.isalnum() or c in "+*#-_." for c in number):
                raise ValueError(f"service number {number!r}: use digits, letters, + * # - _ .")
        return value

    @field_validator("dtmf_listen")
    @classmethod
    def _dtmf_listen(cls, value: str | None) -> str | None:
        return None if value is None else _host_port(value)

    @field_validator("music")
    @classmethod
    def _music(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @model_validator(mode="after")
    def _unique(self) -> TelephonySettings:
        users = [a.user for a in self.accounts]
        agents = [a.agent for a in self.accounts if a.agent is not None]
        supervisors = [a.supervisor for a in self.accounts if a.supervisor is not None]
        for name, values in (("user", users), ("agent", agents), ("supervisor", supervisors)):
            dupes = sorted({v for v in values if values.count(v) > 1})
            if dupes:
                raise ValueError(f"accounts: {name} {', '.join(dupes)} appears more than once")
        if self.recordings_dir is not None and self.recording_spool is None:
            raise ValueError("recordings_dir needs recording_spool (rtpengine's --recording-dir)")
        return self

    @property
    def ng_address(self) -> tuple[str, int]:
        host, _, port = self.rtpengine.rpartition(":")
        return host, int(port)


def load(path: str | Path) -> TelephonySettings:
    """Read and validate a telephony YAML file. Raises :class:`ValueError` with one
    ``file: field: problem`` line per problem."""
    import yaml
    from pydantic import ValidationError

    where = str(path)
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{where}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{where}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping of settings")
    try:
        return TelephonySettings(**data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "(file)"
            lines.append(f"{where}: {field}: {err['msg'].removeprefix('Value error, ')}")
        raise ValueError("\n".join(lines)) from None
