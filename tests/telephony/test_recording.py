"""Call recording end to end: a bridged call with audio both ways becomes a stereo WAV (left customer,
right agent) linked to its interaction, served by the API to its account only, and erased with the
customer (docs/telephony.md, "Recording")."""

from __future__ import annotations

import io
import math
import wave
from array import array
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from centrale.core.events import AgentLoggedIn
from centrale.storage.schema import recordings

from .conftest import USER_PASSWORD, Center, finish, wait_for

pytestmark = pytest.mark.telephony

TALK = 4.0  # seconds the caller talks after the bridge


def _channels(data: bytes) -> tuple[int, float, array[int], array[int]]:
    with wave.open(io.BytesIO(data)) as w:
        channels, rate, frames = w.getnchannels(), w.getframerate(), w.readframes(w.getnframes())
    samples = array("h", frames)
    return channels, len(samples) / channels / rate, samples[0::2], samples[1::2]


def _rms(samples: array[int]) -> float:
    return math.sqrt(sum(s * s for s in samples) / max(len(samples), 1))


async def _http(center: Center, steps: list[tuple[str, str, str, dict[str, Any] | None]]) -> list[Any]:
    """Run (user, method, url, json) requests against the API on the server's loop."""
    from centrale.server.app import create_app

    app = create_app(center.services)
    out = []
    clients: dict[str, httpx.AsyncClient] = {}
    try:
        for user, method, url, body in steps:
            client = clients.get(user)
            if client is None:
                client = clients[user] = httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://centrale"
                )
                r = await client.post("/api/login", json={"username": user, "password": USER_PASSWORD})
                assert r.status_code == 200, r.text
                client.headers["X-CSRF-Token"] = r.json()["csrf"]
            out.append(await client.request(method, url, json=body))
    finally:
        for client in clients.values():
            await client.aclose()
    return out


def test_bridged_call_is_recorded_in_stereo_served_to_its_account_and_erased(center: Center) -> None:
    users = center.services.users
    users.create("recadmin", USER_PASSWORD, "administrator")
    users.create("otherview", USER_PASSWORD, "viewer", ["globex"])
    phone = center.phone("rex", "answer.xml")
    center.submit(AgentLoggedIn("rex", ready=True))
    before = set(center.interactions_for("record"))
    caller = center.sipp("caller.xml", service="1006", extra=["-d", str(int(TALK * 1000))], name="record")
    found = wait_for(lambda: [i for i in center.interactions_for("record") if i not in before], 20, "a call")
    ix = str(found[0])
    wait_for(lambda: center.recorder.of("Connect", ix), 20, "the engine's Connect")
    assert finish(caller, 30) == 0
    assert finish(phone, 30) == 0
    wait_for(lambda: center.recorder.of("InteractionFinished", ix), 10, "InteractionFinished")

    sql = center.services.store.sql

    def row() -> Any:
        with sql.connect() as conn:
            query = sa.select(recordings).where(recordings.c.interaction == ix)
            return conn.execute(query).mappings().first()

    rec = wait_for(row, 10, "the recording's row")
    path = Path(rec["path"])
    assert path.name == f"{ix}.wav" and path.stat().st_size == rec["bytes"] and rec["account"] == "acme"
    assert TALK - 1 < rec["ended"] - rec["started"] < TALK + 3
    channels, seconds, left, right = _channels(path.read_bytes())
    assert channels == 2
    assert TALK - 1 < seconds < TALK + 2, seconds
    # The caller's G.711 sample (left) and the phone's echo of it (right): both well above silence.
    assert _rms(left) > 300 and _rms(right) > 300, (_rms(left), _rms(right))

    url = f"/api/interactions/{ix}/recording"
    steps = [("recadmin", "GET", url, None), ("otherview", "GET", url, None)]
    admin, other = center.run(_http(center, steps))
    assert admin.status_code == 200 and admin.headers["content-type"] == "audio/wav"
    assert admin.content == path.read_bytes()
    assert other.status_code == 404

    contact = center.recorder.of("InteractionArrived", ix)[0].contact
    erased, gone = center.run(
        _http(
            center,
            [("recadmin", "POST", "/api/gdpr/erase", {"contact": contact}), ("recadmin", "GET", url, None)],
        )
    )
    assert erased.status_code == 200 and erased.json()["interactions"] >= 1, erased.text
    assert gone.status_code == 404
    assert not path.exists() and row() is None
