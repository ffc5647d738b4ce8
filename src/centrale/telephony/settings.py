"""Telephony settings: where the SIP service listens, which rtpengine it drives, which numbers it
answers and which SIP accounts agents' phones register with. Read from YAML by ``centrale serve
--telephony FILE`` (:func:`load`), every problem reported as ``file: field: problem``."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class SipAccount(BaseModel):
    """One agent's SIP account: the phone registers as `user` with `password` and rings for `agent`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.+-]+$")
    password: str = Field(min_length=8)
    agent: str = Field(min_length=1)


def _host_port(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected host:port, got {value!r}")
    return value


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


class TelephonySettings(BaseModel):
    """The SIP service's settings (off unless given)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sip_host: str = Field("127.0.0.1", description="address the SIP service listens on (UDP)")
    sip_port: int = Field(5060, ge=1, le=65535)
    rtpengine: str = Field("127.0.0.1:2223", description="rtpengine's NG control address host:port")
    realm: str = Field("centrale", min_length=1, description="digest realm for REGISTER")
    numbers: dict[str, str] = Field(default_factory=dict, description="service number → queue id")
    accounts: list[SipAccount] = Field(default_factory=list)
    music: str | None = Field(None, description="WAV file for music on hold; a tone sequence if unset")
    ng_timeout: float = Field(3.0, gt=0, le=30)
    register_max_expires: int = Field(3600, ge=60)
    trunk: TrunkSettings | None = Field(None, description="the outbound SIP trunk for the dialer")
    recordings_dir: str | None = Field(
        None, description="where bridged calls' WAV recordings go (recording is off when unset)"
    )
    recording_spool: str | None = Field(
        None, description="rtpengine's --recording-dir (its per-call pcaps); needed with recordings_dir"
    )

    @field_validator("rtpengine")
    @classmethod
    def _address(cls, value: str) -> str:
        return _host_port(value)

    @field_validator("numbers")
    @classmethod
    def _numbers(cls, value: dict[str, str]) -> dict[str, str]:
        for number, queue in value.items():
            if not number or not all(c.isalnum() or c in "+*#-_." for c in number):
                raise ValueError(f"service number {number!r}: use digits, letters, + * # - _ .")
            if not queue:
                raise ValueError(f"service number {number!r}: empty queue id")
        return value

    @field_validator("music")
    @classmethod
    def _music(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @model_validator(mode="after")
    def _unique(self) -> TelephonySettings:
        users = [a.user for a in self.accounts]
        agents = [a.agent for a in self.accounts]
        for name, values in (("user", users), ("agent", agents)):
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
