"""`centrale serve` and `centrale admin create`: the live server and its first administrator."""

from __future__ import annotations

import logging
import sys

import click


def _settings(**values: object) -> object:
    from pydantic import ValidationError

    from centrale.server.settings import ServerSettings

    try:
        return ServerSettings(**{k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            click.echo(
                f"error: --{where.replace('_', '-')}: {err['msg'].removeprefix('Value error, ')}", err=True
            )
        sys.exit(2)


def run_server(settings: object, *, banner: str = "", setup: object = None) -> None:
    """Build the server from `settings`, then serve it with uvicorn until interrupted."""
    import uvicorn

    from centrale.server.app import create_app
    from centrale.server.root import build
    from centrale.server.settings import ServerSettings
    from centrale.storage import StorageError

    assert isinstance(settings, ServerSettings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # one line per migration step is noise here
    try:
        services = build(settings)
    except StorageError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    if setup is not None:
        setup(services)  # type: ignore[operator]
    app = create_app(services)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    if banner:
        click.echo(banner)
    else:
        click.echo(f"centrale is serving on http://{settings.host}:{settings.port}/ (API docs at /docs)")
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn shut down cleanly and re-raises Ctrl-C
        click.echo("centrale stopped")
    except OSError as exc:
        click.echo(f"error: cannot listen on {settings.host}:{settings.port}: {exc.strerror}", err=True)
        sys.exit(2)


@click.command()
@click.option(
    "--database", default=None, metavar="URL", help="SQLite file (default centrale.db) or postgresql://…"
)
@click.option("--host", default=None, help="address to listen on (default 127.0.0.1)")
@click.option("--port", type=int, default=None, help="port to listen on (default 8000)")
@click.option("--timezone", default=None, help="the center's time zone (default Europe/Amsterdam)")
@click.option(
    "--metrics-token-file",
    default=None,
    metavar="FILE",
    help="a file holding the bearer token for GET /metrics (Prometheus); metrics are off without it",
)
@click.option(  # --- telephony (docs/telephony.md) ---
    "--telephony", "telephony_file", default=None, metavar="FILE", help="YAML: SIP service and rtpengine"
)
def serve(
    database: str | None,
    host: str | None,
    port: int | None,
    timezone: str | None,
    metrics_token_file: str | None,
    telephony_file: str | None,
) -> None:
    """Run the contact center live: the engine, the API (/docs) and the web UI."""
    metrics_token = None if metrics_token_file is None else _token(metrics_token_file)
    telephony = None
    if telephony_file is not None:  # --- telephony ---
        from centrale.telephony.settings import load

        try:
            telephony = load(telephony_file)
        except ValueError as exc:
            click.echo(str(exc), err=True)
            sys.exit(2)
    run_server(
        _settings(
            database=database,
            host=host,
            port=port,
            timezone=timezone,
            metrics_token=metrics_token,
            telephony=telephony,
        )
    )


def _token(path: str) -> str:
    """The token in the file at `path` (a file, so that it is not on the command line for `ps`)."""
    try:
        with open(path, encoding="utf-8") as f:
            token = f.read().strip()
    except (OSError, UnicodeDecodeError) as exc:
        click.echo(
            f"error: --metrics-token-file: cannot read {path}: {getattr(exc, 'strerror', exc)}", err=True
        )
        sys.exit(2)
    if len(token) < 16 or any(c.isspace() for c in token):
        click.echo(
            f"error: --metrics-token-file: {path}: the token must be one word of at least 16 characters",
            err=True,
        )
        sys.exit(2)
    return token


@click.group()
def admin() -> None:
    """Administration from the command line."""


@admin.command("create")
@click.argument("username")
@click.option("--database", default="centrale.db", show_default=True, metavar="URL")
def admin_create(username: str, database: str) -> None:
    """Create an administrator; the password is read from standard input."""
    from centrale.server.users import UserError, UserStore
    from centrale.storage import StorageError, migrate
    from centrale.storage.db import create_engine

    if sys.stdin.isatty():
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        migrate(database)
        sql = create_engine(database)
    except StorageError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    try:
        UserStore(sql).create(username, password, "administrator")
    except UserError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    finally:
        sql.dispose()
    click.echo(f"administrator {username!r} created")
