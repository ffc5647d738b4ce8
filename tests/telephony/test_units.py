"""The telephony parts that need no peers: bencode, digest, settings files, ICE servers."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import pytest

from centrale.telephony.ng import bdecode, bencode
from centrale.telephony.registrar import digest_response
from centrale.telephony.settings import IceServer, TelephonySettings, load

from .conftest import settings_error


def test_bencode_round_trip() -> None:
    value = {"command": "offer", "flags": ["trust-address"], "n": 3, "sdp": "v=0\r\n"}
    assert bencode(value) == b"d7:command5:offer5:flagsl13:trust-addresse1:ni3e3:sdp5:v=0\r\ne"
    assert bdecode(bencode(value)) == value
    with pytest.raises(ValueError):
        bdecode(b"d7:command")


def test_digest_matches_rfc_2617_example() -> None:
    assert (
        digest_response(
            username="Mufasa",
            realm="testrealm@host.com",
            password="Circle Of Life",
            method="GET",
            uri="/dir/index.html",
            nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
            qop="auth",
            nc="00000001",
            cnonce="0a4f113b",
        )
        == "6629fae49393a05397450978507c4ef1"
    )


def test_settings_file_problems_are_one_line_each(tmp_path: Path) -> None:
    path = tmp_path / "telephony.yaml"
    path.write_text(
        "rtpengine: nowhere\nnumbers: {'1001': ''}\naccounts:\n  - {user: ann, password: short, agent: ann}\n"
    )
    with pytest.raises(ValueError) as info:
        load(path)
    lines = str(info.value).splitlines()
    assert all(line.startswith(f"{path}: ") for line in lines)
    assert any("rtpengine: expected host:port" in line for line in lines)
    assert any("numbers.1001: empty queue id" in line for line in lines)
    assert any(line.startswith(f"{path}: accounts.0.password:") for line in lines)


def test_a_good_settings_file(tmp_path: Path) -> None:
    path = tmp_path / "telephony.yaml"
    path.write_text(
        "sip_port: 5070\nrtpengine: 127.0.0.1:2223\nnumbers: {'+31201234567': sales}\n"
        "accounts:\n  - {user: ann, password: pw-ann-secret, agent: ann}\n"
    )
    settings = load(path)
    assert settings.ng_address == ("127.0.0.1", 2223)
    assert settings.numbers["+31201234567"].queue == "sales"  # a plain number: just its queue


def test_trunk_settings_routes_and_credentials(tmp_path: Path) -> None:
    from centrale.telephony.settings import TrunkSettings

    trunk = TrunkSettings(host="gw.example", routes={"+44": "10.0.0.1:5070", "+4479": "10.0.0.2:5080"})
    assert trunk.gateway_for("+447911123456") == ("10.0.0.2", 5080)  # the longest prefix wins
    assert trunk.gateway_for("+442079460000") == ("10.0.0.1", 5070)
    assert trunk.gateway_for("+31201234567") == ("gw.example", 5060)
    bad = tmp_path / "bad-trunk.yaml"
    bad.write_text("trunk: {host: gw.example, routes: {'+44': nowhere}}\n")
    with pytest.raises(ValueError, match=r"bad-trunk.yaml: trunk.routes: expected host:port"):
        load(bad)
    bad.write_text("trunk: {host: gw.example, username: acme}\n")
    with pytest.raises(ValueError, match=r"bad-trunk.yaml: trunk: give both username and password"):
        load(bad)


def test_call_progress_of_final_responses() -> None:
    from centrale.server.trunk import CallProgress
    from centrale.telephony.trunk import progress_for

    assert progress_for(486, responded=True) is CallProgress.BUSY
    assert progress_for(600, responded=True) is CallProgress.BUSY
    for code in (480, 487):
        assert progress_for(code, responded=False) is CallProgress.NO_ANSWER
    assert progress_for(408, responded=True) is CallProgress.NO_ANSWER
    assert progress_for(408, responded=False) is CallProgress.FAILED  # our own time-out: nobody there
    for code in (403, 404, 503, 603):
        assert progress_for(code, responded=True) is CallProgress.FAILED


def test_turn_credentials_come_from_the_shared_secret_and_expire() -> None:
    settings = TelephonySettings(
        ice_servers=[
            IceServer(urls=["stun:stun.example.com:3478"]),
            IceServer(urls=["turn:turn.example.com?transport=tcp"], secret="s" * 16, ttl=3600),
            IceServer(urls=["turns:relay.example.com:5349"], username="center", credential="fixed"),
        ]
    )
    stun, turn, fixed = settings.ice_for("anna", 1_800_000_000.5)
    assert stun == {"urls": ["stun:stun.example.com:3478"]}
    assert turn["username"] == "1800003600:anna"
    expected = hmac.new(b"s" * 16, b"1800003600:anna", hashlib.sha1).digest()
    assert turn["credential"] == base64.b64encode(expected).decode()
    assert fixed == {"urls": ["turns:relay.example.com:5349"], "username": "center", "credential": "fixed"}


@pytest.mark.parametrize(
    ("yaml", "line"),
    [
        (
            "ice_servers: [{urls: ['http://turn.example.com']}]",
            "ice_servers.0.urls: 'http://turn",
        ),
        (
            "ice_servers: [{urls: ['turn:turn.example.com']}]",
            "ice_servers.0: a TURN server needs a secret",
        ),
        (
            "ice_servers: [{urls: ['turn:t.example.com'], secret: 'x' , username: u, credential: c}]",
            "ice_servers.0.secret: String should have at least 8 characters",
        ),
        (
            "ice_servers: [{urls: ['stun:s.example.com'], username: u}]",
            "ice_servers.0: give both",
        ),
        ("ice_transport_policy: relay", "(file): ice_transport_policy relay needs a TURN server"),
    ],
)
def test_ice_settings_errors_name_the_field(tmp_path: Path, yaml: str, line: str) -> None:
    path, message = settings_error(tmp_path, yaml)
    assert message.startswith(f"{path}: {line}"), message
