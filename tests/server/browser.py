"""Helpers for the browser tests: Debian's Chromium driven by Playwright, pages of a live server.

Playwright's own browser download is never used (no network at test time): the tests launch
``/usr/bin/chromium`` (Debian package ``chromium``) and are skipped when it is not installed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from server.live import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
VIEWPORT = {"width": 1366, "height": 900}


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright; no 'playwright install' needed)"
    return None


@dataclass
class Tab:
    """A page of its own browser context (own cookies: one logged-in user), with the JS errors it hit."""

    page: Any
    base: str
    errors: list[str] = field(default_factory=list)

    def goto(self, path: str) -> None:
        self.page.goto(self.base + path, wait_until="domcontentloaded")

    def login(self, username: str, password: str = PASSWORD, *, expect: str | None = None) -> None:
        """Log in through the login page and wait for the role's start page."""
        self.goto("/")
        self.page.wait_for_selector("#login-form[data-ready]")
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.page.click("#login-form button[type=submit]")
        if expect is not None:
            self.page.wait_for_url(f"{self.base}{expect}*", timeout=10_000)

    def wait_js(self, expression: str, *, timeout: float = 5_000, arg: Any = None) -> float:
        """Wait until `expression` (a JS function body's value) is truthy; the seconds it took."""
        started = time.monotonic()
        body = f"(arg) => {{ try {{ return Boolean({expression}); }} catch (e) {{ return false; }} }}"
        self.page.wait_for_function(body, arg=arg, timeout=timeout, polling="raf")
        return time.monotonic() - started

    def fetch_status(self, path: str) -> int:
        """GET `path` from inside the page (with its session cookie): the HTTP status."""
        status: int = self.page.evaluate("(p) => fetch(p).then(r => r.status)", path)
        return status

    def screenshot(self, name: str, *, full_page: bool = True) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


class Browser:
    """One Chromium for a test module; `tab()` opens an isolated context per user."""

    def __init__(self, base: str, *, extra_args: tuple[str, ...] = ()) -> None:
        from playwright.sync_api import sync_playwright

        self.base = base
        self._pw = sync_playwright().start()
        self._browser = self._pw.chromium.launch(
            executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args]
        )
        self._contexts: list[Any] = []

    @contextmanager
    def tab(self, *, locale: str = "en-GB", viewport: dict[str, int] | None = None) -> Iterator[Tab]:
        context = self._browser.new_context(
            locale=locale, viewport=viewport or VIEWPORT, timezone_id="Europe/Amsterdam"
        )
        context.set_default_timeout(10_000)
        page = context.new_page()
        tab = Tab(page, self.base)
        page.on("pageerror", lambda exc: tab.errors.append(f"page error: {exc}"))

        def console(msg: Any) -> None:
            if msg.type == "error":
                tab.errors.append(f"console error: {msg.text}")

        page.on("console", console)
        try:
            yield tab
        except BaseException:
            # What the page looked like when the test failed: kept with the other artifacts.
            ARTIFACTS.mkdir(exist_ok=True)
            name = "failure-" + page.url.rsplit("/", 1)[-1].split("#")[0].split("?")[0]
            try:
                page.screenshot(path=str(ARTIFACTS / f"{name or 'login'}.png"), full_page=True)
                (ARTIFACTS / f"{name or 'login'}.log").write_text("\n".join(tab.errors))
            except Exception:
                pass
            raise
        finally:
            context.close()

    def close(self) -> None:
        try:
            self._browser.close()
        finally:
            self._pw.stop()


def real_errors(tab: Tab) -> list[str]:
    """The page's JS errors, less the expected ones: failed requests the test caused on purpose
    (a 404 for another account's interaction) and the event streams cut when a page closes."""
    ignore = ("status of 404", "status of 401", "ERR_ABORTED", "net::ERR_INCOMPLETE_CHUNKED_ENCODING")
    return [e for e in tab.errors if not any(s in e for s in ignore)]
