"""Pure tests of the caller's flow (centrale.telephony.ivr), keypad parsing (dtmf), the flow settings,
the prompt audio (prompts; espeak-ng where installed) and the position / expected-wait figures."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

import pytest

from centrale.telephony import ivr
from centrale.telephony.dtmf import digit_for_event, digit_from_info, parse_dtmf_log
from centrale.telephony.ivr import (
    AcceptCallback,
    Announce,
    AnnounceDue,
    Begin,
    Bridged,
    CallbackConfirmed,
    CallbackOffered,
    CallbackRefused,
    CallerFlow,
    Choice,
    Digit,
    FlowConfig,
    FlowState,
    Hangup,
    IvrError,
    Music,
    Play,
    Route,
    Timeout,
    Wait,
)

MENU = {"1": Choice("sales"), "2": Choice("support"), "9": Choice("support", callback=True)}


def flow(**kw: object) -> CallerFlow:
    config = {"default": Choice("sales"), "menu": MENU, "greeting": True, "tries": 3, "input_timeout": 4.0}
    config.update(kw)
    return CallerFlow(FlowConfig(**config))  # type: ignore[arg-type]


# --- the state machine -------------------------------------------------------------------------------
def test_greeting_and_menu_then_a_choice_routes_into_that_queue() -> None:
    f = flow()
    assert f.handle(Begin()) == [Play(("greeting", "menu")), Wait(4.0)]
    assert f.state is FlowState.MENU
    assert f.handle(Digit("2")) == [Route("support"), Music()]
    assert f.state is FlowState.QUEUED


def test_invalid_digit_repeats_the_menu_then_a_valid_one_routes() -> None:
    f = flow()
    f.handle(Begin())
    assert f.handle(Digit("7")) == [Play(("invalid", "menu")), Wait(4.0)]
    assert f.handle(Digit("1")) == [Route("sales"), Music()]


def test_no_input_repeats_the_menu_and_after_the_tries_takes_the_default() -> None:
    f = flow(tries=2)
    f.handle(Begin())
    assert f.handle(Timeout()) == [Play(("menu",)), Wait(4.0)]
    assert f.handle(Timeout()) == [Route("sales"), Music()]
    assert f.choice == Choice("sales")


def test_invalid_digits_to_the_end_say_so_and_take_the_default() -> None:
    f = flow(tries=2)
    f.handle(Begin())
    f.handle(Digit("5"))
    assert f.handle(Digit("5")) == [Play(("invalid",)), Wait(0.0)]
    assert f.state is FlowState.NOTICE
    assert f.handle(Timeout()) == [Route("sales"), Music()]


def test_without_menu_or_greeting_the_call_is_routed_at_once() -> None:
    f = flow(menu={}, greeting=False)
    assert f.handle(Begin()) == [Route("sales"), Music()]


def test_greeting_without_menu_is_heard_out_before_the_queue_and_keys_do_not_cut_it() -> None:
    f = flow(menu={})
    assert f.handle(Begin()) == [Play(("greeting",)), Wait(0.0)]
    assert f.handle(Digit("3")) == []  # nothing to choose: the greeting plays on
    assert f.handle(Timeout()) == [Route("sales"), Music()]


def test_menu_callback_option_routes_then_accepts_the_callback() -> None:
    f = flow()
    f.handle(Begin())
    assert f.handle(Digit("9")) == [Route("support"), AcceptCallback()]
    assert f.state is FlowState.ACCEPTING
    assert f.handle(CallbackConfirmed()) == [Play(("callback_confirmed",)), Hangup()]
    assert f.state is FlowState.DONE


def test_callback_offer_from_the_engine_accepted_with_1() -> None:
    f = flow(menu={}, greeting=False)
    f.handle(Begin())
    assert f.handle(CallbackOffered()) == [Play(("callback_offer",)), Wait(4.0)]
    assert f.handle(Digit("1")) == [AcceptCallback()]
    assert f.handle(CallbackConfirmed()) == [Play(("callback_confirmed",)), Hangup()]


def test_callback_offer_declined_or_unanswered_resumes_the_music() -> None:
    f = flow(menu={}, greeting=False)
    f.handle(Begin())
    f.handle(CallbackOffered())
    assert f.handle(Digit("5")) == [Music()]
    assert f.state is FlowState.QUEUED
    f.handle(CallbackOffered())
    assert f.handle(Timeout()) == [Music()]


def test_callback_the_engine_refuses_leaves_the_caller_in_line() -> None:
    f = flow(menu={}, greeting=False)
    f.handle(Begin())
    f.handle(CallbackOffered())
    f.handle(Digit("1"))
    assert f.handle(CallbackRefused()) == [Music()]
    assert f.state is FlowState.QUEUED


def test_announcements_only_while_queued() -> None:
    f = flow(menu={}, greeting=False)
    f.handle(Begin())
    assert f.handle(AnnounceDue()) == [Announce(), Music()]
    f.handle(CallbackOffered())
    assert f.handle(AnnounceDue()) == []  # never over the callback offer
    assert f.handle(Bridged()) == []
    assert f.handle(AnnounceDue()) == []
    assert f.handle(Digit("1")) == []  # the keypad is quiet once an agent has the call


def test_recording_notice_plays_before_the_queue() -> None:
    f = flow(recording={"support": "announce"})
    f.handle(Begin())
    assert f.handle(Digit("2")) == [Play(("notice",)), Wait(0.0)]
    assert f.handle(Timeout()) == [Route("support", "announced"), Music()]


def test_recording_notice_follows_the_greeting_without_menu() -> None:
    f = flow(menu={}, recording={"sales": "announce"})
    assert f.handle(Begin()) == [Play(("greeting", "notice")), Wait(0.0)]


@pytest.mark.parametrize(("digit", "decision"), [("1", "consented"), ("2", "refused")])
def test_consent_asked_and_the_answer_noted(digit: str, decision: str) -> None:
    f = flow(menu={}, greeting=False, recording={"sales": "consent"})
    assert f.handle(Begin()) == [Play(("consent",)), Wait(4.0)]
    assert f.handle(Digit("8")) == [Play(("invalid", "consent")), Wait(4.0)]
    assert f.handle(Digit(digit)) == [Route("sales", decision), Music()]
    assert f.recording == decision


def test_no_answer_to_the_consent_question_is_a_refusal() -> None:
    f = flow(menu={}, greeting=False, recording={"sales": "consent"}, tries=2)
    f.handle(Begin())
    f.handle(Timeout())
    assert f.handle(Timeout()) == [Route("sales", "refused"), Music()]


def test_callback_choice_skips_the_recording_questions() -> None:
    f = flow(recording={"support": "consent"})
    f.handle(Begin())
    assert f.handle(Digit("9")) == [Route("support"), AcceptCallback()]


def test_an_illegal_input_raises_a_coded_error_and_changes_nothing() -> None:
    f = flow()
    with pytest.raises(IvrError) as err:
        f.handle(Timeout())  # nothing was started
    assert err.value.code == "ivr.illegal_input"
    assert f.state is FlowState.NEW
    f.handle(Begin())
    with pytest.raises(IvrError):
        f.handle(Begin())
    with pytest.raises(IvrError) as bad:
        f.handle(Digit("x"))
    assert bad.value.code == "ivr.bad_digit"
    assert f.state is FlowState.MENU and f.tries == 1 and f.digits == []


def test_every_state_has_an_entry_for_digits_or_refuses_them_explicitly() -> None:
    # The table is the contract: states that take no digits are the ones before anything plays.
    taking = {state for (state, kind) in ivr.transitions if kind is Digit}
    assert taking == set(FlowState) - {FlowState.NEW}


def test_tries_must_be_positive() -> None:
    with pytest.raises(ValueError):
        CallerFlow(FlowConfig(default=Choice("x"), tries=0))


# --- keypad parsing ----------------------------------------------------------------------------------
def test_telephone_event_codes() -> None:
    assert [digit_for_event(i) for i in (0, 5, 9, 10, 11, 12, 15)] == ["0", "5", "9", "*", "#", "A", "D"]
    assert digit_for_event(16) is None and digit_for_event(True) is None and digit_for_event("1") is None


def test_rtpengine_dtmf_log_datagram() -> None:
    data = (
        b'{"callid":"c1","source_tag":"t1","tags":["m","t1"],"type":"DTMF","timestamp":1,'
        b'"source_ip":"127.0.0.1","event":11,"duration":280,"volume":10}'
    )
    assert parse_dtmf_log(data) == ("c1", "t1", "#")
    assert parse_dtmf_log(b"not json") is None
    assert parse_dtmf_log(b'{"callid":"c1","source_tag":"t1","event":99}') is None
    assert parse_dtmf_log(b"[1]") is None
    assert parse_dtmf_log(b"\xff\xfe") is None


def test_sip_info_bodies() -> None:
    assert digit_from_info("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n") == "5"
    assert digit_from_info("Application/DTMF-Relay; charset=x", "signal= #\r\n") == "#"
    assert digit_from_info("application/dtmf", "9") == "9"
    assert digit_from_info("application/dtmf", "11") == "#"
    assert digit_from_info("application/dtmf-relay", "Duration=160") is None
    assert digit_from_info("text/plain", "5") is None
    assert digit_from_info("application/dtmf", "55") is None


# --- settings ----------------------------------------------------------------------------------------
def _load(tmp_path: Path, text: str) -> object:
    from centrale.telephony.settings import load

    path = tmp_path / "telephony.yaml"
    path.write_text(text)
    return load(path)


def test_flow_settings_load(tmp_path: Path) -> None:
    settings = _load(
        tmp_path,
        'numbers:\n  "1001": support\n  "2000":\n    queue: sales\n    language: nl\n    greeting: Welkom.\n'
        '    menu: {"1": sales, "9": {callback: sales}}\n    announce_every: 30\n'
        "recording: {acme: consent}\ndtmf_listen: 127.0.0.1:2224\n",
    )
    numbers = settings.numbers  # type: ignore[attr-defined]
    assert numbers["1001"].queue == "support" and not numbers["1001"].menu
    assert numbers["2000"].menu["9"].callback == "sales"
    assert numbers["2000"].queues() == {"sales"}
    assert settings.recording == {"acme": "consent"}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('numbers: {"1": {queue: a, menu: {"12": a}}}', "numbers.1.menu: Value error, menu key"),
        ('numbers: {"1": {queue: a, menu: {"1": {queue: a, callback: b}}}}', "give either queue or callback"),
        ('numbers: {"1": {queue: a, language: fr}}', "numbers.1.language"),
        ('numbers: {"1": {queue: a, tries: 0}}', "numbers.1.tries"),
        ('numbers: {"1": {queue: a, files: {menu: /no/such.wav}}}', "menu: no such file: /no/such.wav"),
        ('numbers: {"1": {queue: a, files: {song: /x.wav}}}', "numbers.1.files.song"),
        ("recording: {acme: sometimes}", "recording.acme"),
        ("dtmf_listen: nowhere", "dtmf_listen: expected host:port"),
    ],
)
def test_flow_settings_problems_are_one_line_each(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        _load(tmp_path, text)
    lines = str(err.value).splitlines()
    assert all(line.startswith(str(tmp_path / "telephony.yaml") + ": ") for line in lines)
    assert any(message.replace("Value error, ", "") in line for line in lines), lines


def test_own_prompt_files_must_be_telephone_wavs(tmp_path: Path) -> None:
    wrong = tmp_path / "menu.wav"
    with wave.open(str(wrong), "wb") as f:
        f.setnchannels(2)
        f.setsampwidth(2)
        f.setframerate(44100)
        f.writeframes(b"\0" * 400)
    with pytest.raises(ValueError, match="need mono 16-bit 8000 Hz, got 2 channel"):
        _load(tmp_path, f'numbers: {{"1": {{queue: a, files: {{menu: "{wrong}"}}}}}}')


# --- prompts -----------------------------------------------------------------------------------------
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng (apt: espeak-ng)")
@pytest.mark.parametrize("language", ["en", "nl"])
def test_spoken_prompts_are_cached_telephone_wavs(tmp_path: Path, language: str) -> None:
    from centrale.telephony.prompts import Prompts, check_wav, position_text, seconds

    prompts = Prompts(tmp_path)
    path = prompts.speech(language, position_text(language, 3))
    assert check_wav(path) is None
    assert 0.8 < seconds(path) < 5
    with wave.open(str(path), "rb") as f:
        samples = memoryview(f.readframes(f.getnframes())).cast("h")
    assert max(abs(s) for s in samples) > 3000  # speech, not silence
    assert prompts.speech(language, position_text(language, 3)) == path and prompts.spoken == 1
    joined = prompts.join([path, path])
    assert seconds(joined) == pytest.approx(2 * seconds(path) + 0.25, abs=0.01)


def test_resampling_keeps_a_tone_and_its_length() -> None:
    import math
    import struct

    from centrale.telephony.prompts import to_telephone_rate

    rate = 22050
    tone = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(rate)
    )
    out = to_telephone_rate(tone, rate)
    samples = memoryview(out).cast("h")
    assert len(samples) == 8000
    assert 7000 < max(samples) < 9000  # a 440 Hz tone passes the filter unchanged in level


def test_missing_espeak_is_a_clear_error(tmp_path: Path) -> None:
    from centrale.telephony.prompts import PromptError, Prompts

    prompts = Prompts(tmp_path)
    prompts.espeak = None
    with pytest.raises(PromptError, match="espeak-ng is not installed"):
        prompts.speech("en", "hello")


# --- position and expected wait ----------------------------------------------------------------------
def _engine() -> object:
    from centrale.core.config import Account, AgentConfig, EngineConfig, QueueConfig
    from centrale.core.engine import Engine
    from centrale.core.events import AgentLoggedIn, InteractionArrived
    from centrale.core.expressions import parse

    engine = Engine(
        EngineConfig(
            accounts=(Account("acme", "ACME"),),
            queues=(QueueConfig("q", "acme", "voice", parse("q >= 1", known_skills=frozenset({"q"}))),),
            agents=tuple(AgentConfig(a, "acme", {"q": 1}) for a in ("a1", "a2", "a3")),
            skills=frozenset({"q"}),
        )
    )
    now = 1000.0
    engine.handle(AgentLoggedIn("a1", ready=False), now)
    engine.handle(AgentLoggedIn("a2", ready=False), now)
    for i, priority in enumerate([None, None, 5]):
        engine.handle(InteractionArrived(f"c{i}", "q", priority=priority), now + i)
    return engine


def test_position_follows_the_engines_order() -> None:
    from centrale.telephony.waiting import position

    engine = _engine()
    # c2 arrived last with a higher priority: aged ahead of both (5 × 60 s > 2 s).
    assert [position(engine, "q", c) for c in ("c0", "c1", "c2")] == [2, 3, 1]  # type: ignore[arg-type]
    assert position(engine, "q", "nope") is None  # type: ignore[arg-type]
    assert position(engine, "nope", "c0") is None  # type: ignore[arg-type]


def test_expected_wait_is_position_times_handle_time_over_logged_in_agents() -> None:
    from centrale.telephony.waiting import DEFAULT_AHT, expected_wait, minutes

    engine = _engine()
    # two agents logged in (not ready counts: they will come back), nobody handled anything yet
    assert expected_wait(engine, "q", 3, 1010.0) == pytest.approx(3 * DEFAULT_AHT / 2)  # type: ignore[arg-type]
    assert minutes(270.0) == 5 and minutes(1.0) == 1 and minutes(60.0) == 1


def test_no_estimate_without_agents() -> None:
    from centrale.core.events import AgentLoggedOut
    from centrale.telephony.waiting import expected_wait

    engine = _engine()
    engine.handle(AgentLoggedOut("a1"), 1005.0)  # type: ignore[attr-defined]
    engine.handle(AgentLoggedOut("a2"), 1005.0)  # type: ignore[attr-defined]
    assert expected_wait(engine, "q", 1, 1010.0) is None  # type: ignore[arg-type]
