"""The web UI in a real browser (Debian's Chromium through Playwright) against a live server.

* an agent logs in, goes ready, gets an offer, accepts, ends and wraps up with a disposition —
  and a supervisor's wallboard, in a second browser context, shows every step within a second;
* a client-portal user sees its own account and nothing of another;
* the language switch turns the texts Dutch;
* a supervisor gives an agent another skill (so another queue) and changes its state;
* an administrator creates a disposition and a queue through the admin screens, and uploads a
  contact list into a campaign, which the wallboard then shows.

Screenshots go to ``test-artifacts/`` in the repository root (kept by CI).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.browser import ARTIFACTS, Browser, Tab, chromium_missing, real_errors
from server.live import LiveServer, serve
from server.outbound_fixtures import campaign_document, contacts_csv, outbound_center

_missing = chromium_missing()
pytestmark = pytest.mark.skipif(_missing is not None, reason=f"browser tests need Chromium: {_missing}")

LIVE_WITHIN_MS = 1000  # the wallboard must show a change within a second of the action


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    db: Path = tmp_path_factory.mktemp("browser") / "centrale.db"
    with serve(f"sqlite:///{db}", config=outbound_center()) as s:
        yield s


@pytest.fixture(scope="module")
def browser(server: LiveServer) -> Iterator[Browser]:
    b = Browser(server.url)
    try:
        yield b
    finally:
        b.close()


def _agent_state(agent: str, state: str) -> str:
    return f"document.querySelector('tr[data-agent=\"{agent}\"]')?.dataset.state === '{state}'"


def _waiting(queue: str, n: int) -> str:
    return f"document.querySelector('{_WAITING.format(queue)}')?.dataset.value === '{n}'"


_WAITING = '[data-queue="{}"] [data-field="waiting"]'


def _role(ident: str, role: str) -> str:
    """The desktop shows interaction `ident` in `role` (offered, connected, held, wrap_up)."""
    return f"document.querySelector('[data-ix=\"{ident}\"]')?.dataset.role === '{role}'"


def _on_board(board: Tab, expression: str, since: float, what: str, seen: dict[str, float]) -> None:
    """The wallboard shows `expression` within a second of `since` (when the action's API answered)."""
    board.page.wait_for_function(f"() => {expression}", timeout=LIVE_WITHIN_MS, polling="raf")
    seen[what] = time.monotonic() - since
    assert seen[what] < LIVE_WITHIN_MS / 1000, f"the wallboard showed {what} after {seen[what]:.2f} s"


def _click_and_wait(tab: Tab, selector: str, path_end: str) -> float:
    """Click `selector` and wait for the change (POST, PUT, …) to `…path_end` it causes; the moment
    its answer came."""

    def wanted(r: Any) -> bool:
        return bool(r.request.method != "GET" and r.url.endswith(path_end))

    with tab.page.expect_response(wanted) as response:
        tab.page.click(selector)
    assert response.value.ok, f"{path_end}: HTTP {response.value.status}"
    return time.monotonic()


def test_agent_handles_a_contact_and_the_wallboard_follows(server: LiveServer, browser: Browser) -> None:
    seen: dict[str, float] = {}
    with server.client("admin") as admin, browser.tab() as board, browser.tab() as desk:
        board.login("sup", expect="/wallboard")
        board.wait_js(_agent_state("a1", "logged_out"))
        desk.login("anna", expect="/agent")
        desk.wait_js("document.querySelector('#agent-state')?.dataset.state === 'logged_out'")

        # A contact for a queue nobody serves yet: the waiting count goes up.
        before = int(board.page.get_attribute(_WAITING.format("globex-en"), "data-value") or 0)
        r = admin.post("/api/interactions", json={"queue": "globex-en", "contact": "+4420", "id": "b-wait-1"})
        assert r.status_code == 201, r.text
        _on_board(board, _waiting("globex-en", before + 1), time.monotonic(), "waiting +1", seen)

        # The agent logs in to the queues, ready.
        done = _click_and_wait(desk, "#btn-login-ready", "/api/desktop/login")
        _on_board(board, _agent_state("a1", "ready"), done, "ready", seen)
        desk.wait_js("document.querySelector('#agent-state').dataset.state === 'ready'")

        # A call arrives: offered to her (reserved), shown with Accept / Reject and the countdown.
        r = admin.post(
            "/api/interactions",
            json={
                "queue": "acme-nl",
                "contact": "+31201234567",
                "id": "b-call-1",
                "attributes": {"customer": "C-1042", "segment": "gold", "language": "nl"},
            },
        )
        assert r.status_code == 201, r.text
        arrived = time.monotonic()
        _on_board(board, _agent_state("a1", "reserved"), arrived, "reserved", seen)
        _on_board(board, _waiting("acme-nl", 0), arrived, "acme waiting 0", seen)
        desk.wait_js(_role("b-call-1", "offered"), timeout=2000)
        assert desk.page.is_visible('[data-ix="b-call-1"] [data-action="accept"]')
        assert desk.page.is_visible('[data-ix="b-call-1"] [data-action="reject"]')
        desk.wait_js("/^0:[0-3][0-9]$/.test(document.querySelector('.role-offered .countdown').textContent)")
        assert "+31201234567" in desk.page.inner_text('[data-ix="b-call-1"]')
        desk.screenshot("agent-desktop-offer", full_page=False)

        # Accept: connected (busy); the customer's data is shown; hold and resume.
        done = _click_and_wait(desk, '[data-ix="b-call-1"] [data-action="accept"]', "/accept")
        _on_board(board, _agent_state("a1", "busy"), done, "busy", seen)
        desk.wait_js(_role("b-call-1", "connected"))
        assert "C-1042" in desk.page.inner_text('[data-ix="b-call-1"] .ix-customer')
        _click_and_wait(desk, '[data-ix="b-call-1"] [data-action="hold"]', "/hold")
        desk.wait_js(_role("b-call-1", "held"))
        _click_and_wait(desk, '[data-ix="b-call-1"] [data-action="resume"]', "/resume")
        desk.wait_js(_role("b-call-1", "connected"))
        desk.page.fill('[data-ix="b-call-1"] textarea[name="notes"]', "Wants two tickets for Saturday")
        desk.screenshot("agent-desktop-connected", full_page=False)
        board.screenshot("wallboard")

        # End: wrap-up. Finishing without a disposition is fine for this queue; pick one anyway.
        done = _click_and_wait(desk, '[data-ix="b-call-1"] [data-action="end"]', "/end")
        _on_board(board, _agent_state("a1", "wrap_up"), done, "wrap_up", seen)
        desk.wait_js(_role("b-call-1", "wrap_up"))
        # What she typed during the call survived every refresh.
        notes = '[data-ix="b-call-1"] textarea[name="notes"]'
        assert desk.page.input_value(notes) == "Wants two tickets for Saturday"
        desk.page.select_option('[data-ix="b-call-1"] select[name="disposition"]', "sale")
        desk.page.fill('[data-ix="b-call-1"] textarea[name="notes"]', "Two tickets, Saturday")
        done = _click_and_wait(desk, '[data-ix="b-call-1"] [data-action="finish"]', "/wrap-up")
        _on_board(board, _agent_state("a1", "ready"), done, "ready again", seen)
        desk.wait_js("!document.querySelector('[data-ix=\"b-call-1\"]') && document.querySelector('#idle')")

        detail = admin.get("/api/interactions/b-call-1").json()
        assert detail["disposition"] == "sale"
        assert detail["notes"] == "Two tickets, Saturday"
        assert detail["agent"] == "a1"
        assert real_errors(desk) == [] and real_errors(board) == []
    print("wallboard delays (s):", {k: round(v, 3) for k, v in seen.items()})


def test_auto_answer_and_targets(server: LiveServer, browser: Browser) -> None:
    with server.client("admin") as admin, browser.tab() as desk:
        # Target progress is shown when the desktop state has `targets` (added here on the way).
        targets = [{"label": "Sales this week", "done": 3, "target": 10}]

        def with_targets(route: Any) -> None:
            response = route.fetch()
            route.fulfill(response=response, json={**response.json(), "targets": targets})

        desk.page.route("**/api/desktop", with_targets)
        desk.login("bram", expect="/agent")
        desk.wait_js("document.querySelector('#agent-state')?.dataset.state === 'logged_out'")
        desk.wait_js("!document.querySelector('#targets').hidden")
        assert "3 / 10" in desk.page.inner_text("#targets")
        assert desk.page.get_attribute("#targets [role=progressbar]", "aria-valuenow") == "3"
        desk.page.unroute_all(behavior="ignoreErrors")
        desk.page.click("label[for=auto-answer]")
        assert desk.page.is_checked("#auto-answer")
        _click_and_wait(desk, "#btn-login-ready", "/api/desktop/login")
        desk.wait_js("document.querySelector('#agent-state').dataset.state === 'ready'")
        # Anna (from the test above, if it ran) is busy elsewhere; make sure Bram gets it.
        with server.client("anna") as anna:
            anna.post("/api/desktop/not-ready", json={"reason": "break"})
        r = admin.post("/api/interactions", json={"queue": "acme-nl", "contact": "+31207", "id": "b-auto-1"})
        assert r.status_code == 201
        desk.wait_js(_role("b-auto-1", "connected"), timeout=3000)
        assert desk.page.evaluate("localStorage.getItem('centrale.autoAnswer')") == "1"
        _click_and_wait(desk, '[data-ix="b-auto-1"] [data-action="end"]', "/end")
        desk.wait_js(_role("b-auto-1", "wrap_up"))
        _click_and_wait(desk, '[data-ix="b-auto-1"] [data-action="finish"]', "/wrap-up")
        _click_and_wait(desk, "#btn-logout-acd", "/api/desktop/logout")
        assert real_errors(desk) == []


def test_supervisor_moves_an_agent_between_queues(server: LiveServer, browser: Browser) -> None:
    with browser.tab() as board:
        board.login("sup", expect="/wallboard")
        board.wait_js(_agent_state("g2", "logged_out"))
        board.page.click('tr[data-agent="g2"] [data-action=manage]')
        # Skills decide the queues: giving Gus "acme" makes him serve ACME NL as well.
        board.page.click("dialog [data-action=add-skill]")
        board.page.fill("dialog tbody tr:last-child input[name=skill]", "acme")
        board.page.fill("dialog tbody tr:last-child input[name=level]", "4")
        board.wait_js("document.querySelector('dialog .served')?.textContent.includes('ACME NL')")
        _click_and_wait(board, "dialog [data-action=save-skills]", "/api/agents/g2/skills")
        skills = "document.querySelector('[data-agent=\"g2\"] [data-col=skills]').textContent"
        board.wait_js(f"{skills}.includes('acme')")
        # And put him to work.
        board.page.click('tr[data-agent="g2"] [data-action=manage]')
        board.page.select_option("#manage-state", "ready")
        done = _click_and_wait(board, "dialog [data-action=apply-state]", "/api/agents/g2/state")
        # (Ready, or at once reserved for a globex contact an earlier test left waiting.)
        working = f"({_agent_state('g2', 'ready')}) || ({_agent_state('g2', 'reserved')})"
        _on_board(board, working, done, "g2 ready", {})
        assert real_errors(board) == []
    with server.client("admin") as admin:
        gus = next(a for a in admin.get("/api/agents").json() if a["id"] == "g2")
        assert gus["skills"] == {"globex": 5, "acme": 4}
        admin.post("/api/agents/g2/state", json={"state": "logged_out"})


def test_client_portal_shows_only_its_own_account(server: LiveServer, browser: Browser) -> None:
    with server.client("admin") as admin:
        for queue, ident in (("acme-nl", "p-acme-1"), ("globex-en", "p-globex-1")):
            r = admin.post("/api/interactions", json={"queue": queue, "contact": "+31200000000", "id": ident})
            assert r.status_code == 201, r.text
    with browser.tab() as view:
        view.login("acmeview", expect="/portal")
        view.wait_js("document.querySelector('[data-queue]')")
        queues = view.page.eval_on_selector_all("[data-queue]", "els => els.map(e => e.dataset.queue)")
        assert "acme-nl" in queues and all(q.startswith("acme-") for q in queues)
        view.screenshot("portal")

        view.page.click("[data-tab=interactions]")
        view.wait_js("document.querySelector('tr[data-interaction=\"p-acme-1\"]')")
        shown = view.page.eval_on_selector_all("[data-interaction]", "a => a.map(r => r.dataset.interaction)")
        assert "p-acme-1" in shown and "p-globex-1" not in shown
        view.page.click('[data-open="p-acme-1"]')
        view.wait_js('document.querySelector(\'[data-detail="p-acme-1"] .timeline [data-kind="arrived"]\')')
        view.page.keyboard.press("Escape")

        view.page.click("[data-tab=reports]")
        view.wait_js("document.querySelector('#r-agents') && !document.querySelector('#r-agents .loading')")
        assert view.page.get_attribute("#export-intervals", "href").startswith("/api/reports/intervals?")

        for tab in ("live", "interactions", "reports"):
            view.page.click(f"[data-tab={tab}]")
            assert "globex" not in view.page.inner_text("main").lower(), f"globex shown on the {tab} tab"
        # Straight from the page, with the viewer's session: another account's data does not exist.
        assert view.fetch_status("/api/interactions/p-globex-1") == 404
        assert view.fetch_status("/api/interactions/p-acme-1") == 200
        accounts = view.page.evaluate(
            "fetch('/api/interactions?limit=1000').then(r => r.json()).then(d => d.items.map(i => i.account))"
        )
        assert accounts and set(accounts) == {"acme"}
        assert real_errors(view) == []


def test_language_switch(server: LiveServer, browser: Browser) -> None:
    with browser.tab(locale="en-GB") as tab:
        tab.goto("/")
        tab.wait_js("document.querySelector('#login-title').textContent === 'Log in'")
        tab.page.click("button[data-lang=nl]")
        tab.wait_js("document.querySelector('#login-title').textContent === 'Inloggen'")
        assert tab.page.get_attribute("html", "lang") == "nl"
        assert tab.page.inner_text("label[for=password]") == "Wachtwoord"
        tab.page.reload()  # remembered
        tab.wait_js("document.querySelector('#login-title').textContent === 'Inloggen'")
        tab.login("sup", expect="/wallboard")
        tab.wait_js("document.querySelector('#queues-title').textContent === 'Wachtrijen'")
        tab.wait_js("document.querySelector('tr[data-agent] .state')?.textContent.length > 0")
        states = tab.page.eval_on_selector_all("tr[data-agent] .state", "els => els.map(e => e.textContent)")
        dutch = {"Beschikbaar", "Gereserveerd", "In gesprek", "Nawerk", "Niet beschikbaar", "Afgemeld"}
        assert states and set(states) <= dutch
        tab.page.click("button[data-lang=en]")
        tab.wait_js("document.querySelector('#queues-title').textContent === 'Queues'")
        assert real_errors(tab) == []
    with browser.tab(locale="nl-NL") as tab:  # the browser's language is the default
        tab.goto("/")
        tab.wait_js("document.querySelector('#login-title').textContent === 'Inloggen'")


def test_admin_creates_a_disposition_and_a_queue(server: LiveServer, browser: Browser) -> None:
    with server.client("admin") as admin:
        if admin.get("/api/dispositions").status_code == 404:
            pytest.skip("the configuration API is not there yet")
    with browser.tab() as adm:
        adm.login("admin", expect="/wallboard")
        adm.goto("/admin#dispositions")
        adm.wait_js("document.querySelector('table[data-resource=dispositions] tr[data-key=sale]')")
        adm.page.click("#panel-dispositions [data-action=new]")
        adm.page.fill("#fld-code", "callback-later")
        adm.page.fill("#fld-label", "Call back later")
        adm.page.select_option("#fld-category", "callback")
        adm.page.click("dialog [data-action=save]")
        adm.wait_js("document.querySelector('[data-resource=dispositions] [data-key=\"callback-later\"]')")

        adm.page.click("[data-tab=queues]")
        adm.wait_js("document.querySelector('table[data-resource=queues] tr[data-key=\"acme-nl\"]')")
        adm.page.click("#panel-queues [data-action=new]")
        adm.page.fill("#fld-id", "acme-sales")
        adm.page.fill("#fld-name", "ACME Sales")
        adm.page.select_option("#fld-account", "acme")
        adm.page.fill("#fld-requires", "acme >=")
        adm.page.click("dialog [data-action=save]")
        # The API's validation message is shown next to the field it concerns.
        adm.wait_js("document.querySelector('#fld-requires')?.getAttribute('aria-invalid') === 'true'")
        assert adm.page.inner_text("#fld-requires-error")
        adm.page.fill("#fld-requires", "acme >= 3")
        adm.page.click("dialog [data-action=save]")
        adm.wait_js("document.querySelector('table[data-resource=queues] tr[data-key=\"acme-sales\"]')")
        adm.screenshot("admin-queues", full_page=False)
        assert real_errors(adm) == [] or all("422" in e for e in real_errors(adm))

    with server.client("admin") as admin:
        codes = {d["code"]: d for d in admin.get("/api/dispositions").json()}
        assert codes["callback-later"]["category"] == "callback"
        assert codes["callback-later"]["label"] == "Call back later"
        queue = admin.get("/api/queues/acme-sales").json()
        assert (queue["account"], queue["requires"], queue["name"]) == ("acme", "acme >= 3", "ACME Sales")


def test_list_upload_and_campaign_on_the_wallboard(
    server: LiveServer, browser: Browser, tmp_path: Path
) -> None:
    with server.client("admin") as admin:
        r = admin.post("/api/campaigns", json=campaign_document("spring"))
        if r.status_code in (404, 503):
            pytest.skip("outbound campaigns are not available on this server")
        assert r.status_code == 201, r.text
    csv = tmp_path / "customers.csv"
    csv.write_bytes(contacts_csv(4))  # 4 good rows, 3 rejected ones
    with browser.tab() as adm:
        adm.login("admin", expect="/wallboard")
        adm.wait_js("document.querySelector('[data-campaign=\"spring\"]')")
        assert "Winter offer" in adm.page.inner_text('[data-campaign="spring"]')
        adm.goto("/admin#lists")
        adm.wait_js("document.querySelector('#up-name')?.value === 'customers'")
        adm.page.set_input_files("#up-file", str(csv))
        adm.page.click("[data-action=upload]")
        adm.wait_js("document.querySelector('[data-report=\"customers\"]')")
        report = adm.page.inner_text('[data-report="customers"]')
        assert "too_short" in report or "invalid" in report.lower()
        kpis = adm.page.eval_on_selector_all("[data-report] .kpi-card .big", "a => a.map(e => e.textContent)")
        assert kpis[:3] == ["7", "4", "3"]
        adm.screenshot("admin-list-upload", full_page=False)
        assert real_errors(adm) == []


def test_campaign_script_and_form_on_the_desktop(server: LiveServer, browser: Browser) -> None:
    """A campaign call shows its script and form; the form's values go out with the wrap-up.
    (The server side — material, validation, the lead's stored form — is test_campaign_desktop.py.)"""
    material = {
        "id": "winter",
        "name": "Winter offer",
        "script": "Good afternoon Jan, this is Bram of ACME.",
        "form": [
            {
                "name": "product",
                "type": "choice",
                "label": "Product",
                "required": True,
                "choices": ["basic", "premium"],
                "min": None,
                "max": None,
            }
        ],
    }
    sent: list[dict[str, Any]] = []
    with server.client("admin") as admin, browser.tab() as desk:

        def with_campaign(route: Any) -> None:
            response = route.fetch()
            body = response.json()
            for item in body.get("interactions", []):
                if item["id"] == "camp-1":
                    item["campaign"] = material
            route.fulfill(response=response, json=body)

        desk.page.route("**/api/desktop", with_campaign)
        desk.page.on(
            "request", lambda r: sent.append(r.post_data_json) if r.url.endswith("/camp-1/wrap-up") else None
        )
        with server.client("anna") as anna:
            anna.post("/api/desktop/logout")
        with server.client("bram") as bram:  # take what earlier tests left waiting, then log out
            bram.post("/api/desktop/login", json={"ready": True})
            for _ in range(50):
                items = bram.get("/api/desktop").json()["interactions"]
                if not items:
                    break
                for it in items:
                    base = f"/api/desktop/interactions/{it['id']}"
                    step = {"offered": "/accept", "connected": "/end", "held": "/end"}.get(it["role"])
                    if step is not None:
                        bram.post(base + step)
                    else:
                        bram.post(base + "/wrap-up", json={"disposition": it["dispositions"][0]["code"]})
            bram.post("/api/desktop/logout")
        desk.login("bram", expect="/agent")
        desk.wait_js("document.querySelector('#agent-state')?.dataset.state === 'logged_out'")
        _click_and_wait(desk, "#btn-login-ready", "/api/desktop/login")
        desk.wait_js("document.querySelector('#agent-state').dataset.state === 'ready'")
        assert admin.post("/api/interactions", json={"queue": "acme-nl", "id": "camp-1"}).status_code == 201
        desk.wait_js(_role("camp-1", "offered"), timeout=3000)
        if not desk.page.is_visible('[data-ix="camp-1"] .campaign-script'):
            desk.wait_js("!document.querySelector('[data-ix=\"camp-1\"] .campaign-script').hidden")
        assert "Good afternoon Jan" in desk.page.inner_text('[data-ix="camp-1"] .campaign-script')
        if desk.page.evaluate("localStorage.getItem('centrale.autoAnswer')") != "1":
            _click_and_wait(desk, '[data-ix="camp-1"] [data-action="accept"]', "/accept")
        desk.wait_js(_role("camp-1", "connected"), timeout=3000)
        _click_and_wait(desk, '[data-ix="camp-1"] [data-action="end"]', "/end")
        desk.wait_js(_role("camp-1", "wrap_up"))
        desk.page.select_option('[data-ix="camp-1"] select[name="product"]', "premium")
        desk.page.screenshot(path=str(ARTIFACTS / "agent-desktop-campaign.png"), full_page=True)
        _click_and_wait(desk, '[data-ix="camp-1"] [data-action="finish"]', "/wrap-up")
        assert sent and sent[-1]["fields"] == {"product": "premium"}
        desk.page.unroute_all(behavior="wait")
        _click_and_wait(desk, "#btn-logout-acd", "/api/desktop/logout")
        assert real_errors(desk) == []


def test_admin_creates_a_campaign_and_a_do_not_call_entry(server: LiveServer, browser: Browser) -> None:
    """The administrator creates a campaign through the Campaigns tab's JSON form (it starts
    stopped) and puts a number on ACME's do-not-call list through the Do-not-call tab."""
    import json

    ident = f"ui-{time.time_ns() % 10**9}"
    number = "+447911123499"
    with server.client("admin") as admin:
        if admin.get("/api/campaigns").status_code in (404, 503):
            pytest.skip("outbound campaigns are not available on this server")
    with browser.tab() as adm:
        adm.login("admin", expect="/wallboard")
        adm.goto("/admin#campaigns")
        adm.page.click('#panel-campaigns [data-action="new"]')
        adm.page.fill("#campaign-document", json.dumps(campaign_document(ident), indent=2))
        _click_and_wait(adm, '#campaign-form [data-action="save"]', "/api/campaigns")
        row = f'#panel-campaigns tr[data-campaign="{ident}"]'
        adm.wait_js(f"document.querySelector('{row}')?.dataset.status === 'stopped'")
        assert "Winter offer" in adm.page.inner_text(row)
        assert adm.page.is_visible(f'{row} [data-action="start"]')
        adm.screenshot("admin-campaigns", full_page=False)

        adm.page.click("#tab-dnc")
        adm.page.wait_for_selector("#dnc-form")
        adm.page.fill("#dnc-number", number)
        adm.page.select_option("#dnc-scope", "acme")
        _click_and_wait(adm, '#dnc-form [data-action="add"]', "/api/dnc")
        adm.wait_js(f'document.querySelector(\'#panel-dnc tr[data-number="{number}"][data-scope="acme"]\')')
        assert real_errors(adm) == []
