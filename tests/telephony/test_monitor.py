"""Supervisor monitoring on real calls: the supervisor's sipp phone is rung and joined through the
G.711 mixer; test sockets are the three parties' voices — customer, agent and supervisor each talk a
constant level, so what each hears tells whose voices reached it (a mix is the sum of the levels)
(docs/telephony.md, "Supervisor monitoring")."""

from __future__ import annotations

import time

import pytest

from centrale.core.events import AgentLoggedIn, InteractionEnded

from .conftest import USER_PASSWORD, Center, api, finish, wait_for
from .parties import Party, Voices, mostly

pytestmark = pytest.mark.telephony

CUSTOMER, AGENT, SUPERVISOR = 1000, 2000, 4000  # the parties' levels; sums tell mixes apart


def _hears(party: Party, level: int, what: str, share: float = 0.8) -> None:
    """Wait until `party` heard mostly `level` over the last second."""
    wait_for(lambda: mostly(party.levels(time.monotonic() - 1.0), level, share), 10, what)


def _never(party: Party, levels: set[int], since: float, what: str) -> None:
    heard = party.levels(since)
    assert not levels & set(heard), f"{what}: {party.name} heard {heard}"


def test_listen_whisper_barge_and_stop(center: Center, voices: Voices) -> None:
    users = center.services.users
    users.create("sue", USER_PASSWORD, "supervisor", ["acme"])
    users.create("mona-desk", USER_PASSWORD, "agent", ["acme"], agent="mona")
    users.create("globex-sup", USER_PASSWORD, "supervisor", ["globex"])
    customer, mona, sue = (
        voices.new("customer", CUSTOMER),
        voices.new("mona", AGENT),
        voices.new("sue", SUPERVISOR),
    )
    agent_phone, supervisor_phone = center.party_phone("mona", mona), center.party_phone("sue", sue)
    center.submit(AgentLoggedIn("mona", ready=True))
    before = set(center.interactions_for("watched"))
    caller = center.sipp("party_caller.xml", service="1011", keys={"rtp": str(customer.port)}, name="watched")
    new = wait_for(lambda: [i for i in center.interactions_for("watched") if i not in before], 20, "a call")
    ix = new[0]
    wait_for(lambda: center.recorder.of("Connect", ix), 20, "the engine's Connect")
    _hears(customer, AGENT, "the customer hears the agent")
    _hears(mona, CUSTOMER, "the agent hears the customer")
    url = f"/api/interactions/{ix}/monitor"

    # Who may: an agent may not (403); a supervisor of another account does not see the call (404).
    assert center.run(api(center, "mona-desk", "POST", url, {"mode": "listen"})).status_code == 403
    assert center.run(api(center, "globex-sup", "POST", url, {"mode": "listen"})).status_code == 404
    assert center.run(api(center, "sue", "POST", url, {"mode": "shout"})).status_code == 422

    # Listen: the supervisor hears both (the sum), nobody hears the supervisor.
    r = center.run(api(center, "sue", "POST", url, {"mode": "listen"}))
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "dialing"
    wait_for(
        lambda: center.run(api(center, "sue", "GET", url)).json().get("state") == "active", 10, "monitoring"
    )
    started = time.monotonic()
    _hears(sue, CUSTOMER + AGENT, "the supervisor hears customer and agent", share=0.6)
    _hears(customer, AGENT, "the customer still hears the agent")
    _hears(mona, CUSTOMER, "the agent still hears the customer")
    _never(customer, {SUPERVISOR, AGENT + SUPERVISOR}, started + 0.5, "listen")
    _never(mona, {SUPERVISOR, CUSTOMER + SUPERVISOR}, started + 0.5, "listen")

    # Whisper: the agent hears customer and supervisor; the customer still only the agent.
    r = center.run(api(center, "sue", "POST", url, {"mode": "whisper"}))
    assert r.status_code == 200 and r.json()["mode"] == "whisper", r.text
    switched = time.monotonic()
    _hears(mona, CUSTOMER + SUPERVISOR, "the agent hears the whisper", share=0.6)
    _never(customer, {SUPERVISOR, AGENT + SUPERVISOR}, switched + 0.3, "whisper")

    # Barge: both hear the supervisor.
    r = center.run(api(center, "sue", "POST", url, {"mode": "barge"}))
    assert r.status_code == 200 and r.json()["mode"] == "barge", r.text
    _hears(customer, AGENT + SUPERVISOR, "the customer hears agent and supervisor", share=0.6)
    _hears(mona, CUSTOMER + SUPERVISOR, "the agent hears customer and supervisor", share=0.6)
    _hears(sue, CUSTOMER + AGENT, "the supervisor still hears both", share=0.6)

    # Stop: the supervisor's phone is hung up and the parties talk directly again.
    r = center.run(api(center, "sue", "DELETE", url))
    assert r.status_code == 200, r.text
    assert finish(supervisor_phone, 15) == 0
    stopped = time.monotonic()
    _hears(customer, AGENT, "the customer hears the agent alone again")
    _hears(mona, CUSTOMER, "the agent hears the customer alone again")
    _never(customer, {AGENT + SUPERVISOR}, stopped + 1.0, "after stop")
    assert center.run(api(center, "sue", "GET", url)).status_code == 404

    center.submit(InteractionEnded(ix))
    assert finish(caller, 20) == 0
    assert finish(agent_phone, 20) == 0
    assert center.sip.failures == 0


# --- the mixer and the settings (pure) ----------------------------------------------------------------
def test_g711_encoding_round_trips_every_code_and_keeps_the_level() -> None:
    from centrale.telephony.mixer import PCMA, PCMU, decode, encode

    for law in (PCMA, PCMU):
        values = decode(bytes(range(256)), law)
        assert all(decode(encode([v], law), law)[0] == v for v in values)  # every code survives
        for level in (-30000, -4000, -100, 0, 100, 1000, 4000, 30000):
            back = decode(encode([level], law), law)[0]
            assert abs(back - level) <= max(16, abs(level) // 16), (law, level, back)
        assert decode(encode([99999], law), law)[0] == decode(encode([32767], law), law)[0]  # clipped


def test_mixer_routes_each_mode_and_never_sends_a_party_its_own_voice() -> None:
    from centrale.telephony.mixer import Mixer, Party
    from centrale.telephony.monitor import ROUTES

    sent: dict[str, list[int]] = {}

    class Recording(Party):
        def send(self, samples: list[int] | tuple[int, ...]) -> None:
            sent[self.name] = list(samples)

    for mode, routes in ROUTES.items():
        mixer = Mixer("127.0.0.1")
        for name, level in (("customer", 1000), ("agent", 2000), ("supervisor", 4000)):
            party = Recording(name)
            party.frames.append((level,) * 160)
            mixer.parties[name] = party
        for listener, sources in routes.items():
            mixer.hears(listener, sources | {listener})  # its own voice is dropped anyway
        sent.clear()
        mixer.tick()
        levels = {"customer": 1000, "agent": 2000, "supervisor": 4000}
        for listener, sources in routes.items():
            assert sent[listener] == [sum(levels[s] for s in sources)] * 160, (mode, listener)


def test_supervisor_accounts_are_validated() -> None:
    from pydantic import ValidationError

    from centrale.telephony.settings import SipAccount, TelephonySettings

    ok = SipAccount(user="sue-phone", password="long enough", supervisor="sue")
    assert ok.agent is None and ok.supervisor == "sue"
    with pytest.raises(ValidationError, match="supervisor sue appears more than once"):
        TelephonySettings(accounts=[ok, SipAccount(user="sue2", password="long enough", supervisor="sue")])
    with pytest.raises(ValidationError, match="supervisor"):
        SipAccount(user="x", password="long enough", supervisor="no spaces allowed")
