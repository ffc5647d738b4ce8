"""`centrale demo`: the live server with a demo center, simulated customers and simulated agents."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

_PAGES = (
    ("/wallboard", "wallboard", "supervisor"),
    ("/agent", "agent desktop", "agent01"),
    ("/admin", "administration", "admin"),
    ("/portal", "client portal", "zuid or contoso"),
    ("/docs", "API documentation", ""),
)


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _check_port(host: str, port: int) -> None:
    """Fail now, with one line, when the address cannot be listened on (uvicorn would say it later
    and in several lines)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            s.bind(address)
    except OSError as exc:
        _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


def _remove(database: str) -> None:
    """--fresh: delete the SQLite file and its journal files."""
    path = Path(database).expanduser()
    for p in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        try:
            p.unlink(missing_ok=True)
        except OSError as exc:
            _fail(f"--fresh: cannot delete {p}: {exc.strerror or exc}")


def _check_database(database: str) -> None:
    """Fail now, with one line, when the SQLite file cannot be created or written."""
    path = Path(database).expanduser()
    folder = path.parent
    if path.is_dir():
        _fail(f"--database {database}: is a folder, not a file")
    if not folder.is_dir():
        _fail(f"--database {database}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        _fail(f"--database {database}: not writable")


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def banner(scenario: Any, url: str, database: str, existed: bool, speed: float, password: str) -> str:
    from centrale.server.demo import HUMAN_AGENTS, demo_users

    simulated = [a for a in scenario.engine.agents if a.id not in HUMAN_AGENTS]
    pace = "real time" if speed == 1 else f"{speed:g}× real time"
    state = "continuing the demo in" if existed else "a new demo in"
    lines = [
        f"centrale demo — {scenario.name}",
        f"  {len(simulated)} simulated agents and their customers, {pace}; {state} {database}",
        "",
        f"  {url}/",
    ]
    width = max(len(p) for p, _, _ in _PAGES)
    for path, what, who in _PAGES:
        lines.append(f"  {url}{path:<{width}}  {what}" + (f" (log in as {who})" if who else ""))
    lines += ["", f"  logins, all with password {password}:"]
    shown = [u for u in demo_users(scenario) if u.note != "simulated agent"]
    name_width = max(len(u.username) for u in shown)
    for u in shown:
        lines.append(f"    {u.username:<{name_width}}  {u.note}")
    if simulated:
        ids = sorted(a.id for a in simulated)
        lines.append(f"    ({ids[0]} … {ids[-1]}: the simulated agents' logins)")
    lines += ["", "  Ctrl-C to stop."]
    return "\n".join(lines)


@click.command()
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="port to listen on"
)
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option(
    "--database",
    default="centrale-demo.db",
    show_default=True,
    metavar="FILE",
    help="SQLite file of the demo; a restart continues where it was",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0.1, max=1000.0),
    default=1.0,
    show_default=True,
    help="pace of the simulated world: 2 brings twice the calls, each half as long",
)
@click.option("--fresh", is_flag=True, help="delete the database first: a brand-new demo")
def demo(port: int, host: str, database: str, speed: float, fresh: bool) -> None:
    """Run a demo contact center: the live server with a seeded outsourcing center (two clients,
    Dutch and English lines, 20 agents) in which simulated customers call and 19 simulated agents
    answer. Log in as agent01 to take calls yourself; watch it all on the wallboard."""
    is_url = "://" in database
    if fresh and is_url:
        _fail("--fresh deletes a SQLite file; empty that database yourself")
    _check_port(host, port)
    if not is_url:
        _check_database(database)

    from centrale.cli.serve import _settings, run_server
    from centrale.server.demo import DEMO_PASSWORD, load_demo
    from centrale.server.demo_campaign import install_demo
    from centrale.sim.scenario import ScenarioError

    try:
        scenario = load_demo()
    except (ScenarioError, FileNotFoundError) as exc:
        _fail(str(exc))
    settings: Any = _settings(
        database=database,
        host=host,
        port=port,
        timezone=scenario.timezone,
        interval_seconds=scenario.interval,
    )
    if fresh:
        _remove(database)
    existed = not is_url and Path(database).expanduser().exists()
    url = f"http://{_url_host(host)}:{port}"
    text = banner(scenario, url, database, existed, speed, DEMO_PASSWORD)

    def setup(services: Any) -> None:
        install_demo(services, scenario, speed=speed)

    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises Ctrl-C after a clean shutdown
        run_server(settings, banner=text, setup=setup)
    click.echo(f"demo stopped; it is kept in {database} and goes on at the next start (without --fresh)")
