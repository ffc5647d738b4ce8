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

    @field_validator("rtpengine")
    @classmethod
    def _address(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"expected host:port, got {value!r}")
        return value

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
