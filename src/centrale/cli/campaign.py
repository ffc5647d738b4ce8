"""`centrale campaign …` — outbound campaigns: check a settings file before it goes live."""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import click


@click.group()
def campaign() -> None:
    """Outbound campaigns."""


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@campaign.command("check")
@click.argument("settings_file", metavar="CAMPAIGN.yaml", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--at",
    "at_text",
    default=None,
    metavar="ISO-TIME",
    help="Evaluate callability at this time (default: now); without an offset, in the campaign's zone.",
)
@click.option("--agent-name", default="Agent", show_default=True, help="Name used in the script preview.")
def check(settings_file: Path, at_text: str | None, agent_name: str) -> None:
    """Validate CAMPAIGN.yaml, import its lists and show what could be dialled.

    Prints the lists' import counts, the leads callable at the given time per reason (the
    compliance engine decides, as before every dial) and the script for the first lead.
    Nothing is dialled and nothing is recorded.
    """
    from centrale.outbound.campaign import Campaign
    from centrale.outbound.campaign_config import import_lists, load_campaign
    from centrale.outbound.campaign_errors import CampaignConfigError
    from centrale.outbound.errors import ListImportError
    from centrale.outbound.state import ComplianceState

    try:
        settings = load_campaign(settings_file)
    except CampaignConfigError as exc:
        _fail(str(exc))
    tz = settings.time_zone
    if at_text is None:
        now = datetime.now(UTC).astimezone(tz)  # the command line is a driver: it may read the clock
    else:
        try:
            now = datetime.fromisoformat(at_text)
        except ValueError:
            _fail(f"--at: expected an ISO time such as 2026-12-07T11:00+01:00, got {at_text!r}")
        if now.tzinfo is None:
            now = now.replace(tzinfo=tz)
    try:
        imported = import_lists(settings)
    except ListImportError as exc:
        _fail(f"{exc} [{exc.code}]")
    contacts = {name: result.contacts for name, result in imported.items()}
    run = Campaign(
        settings, contacts, ComplianceState(), rng=random.Random(0)
    )  # the check counts leads; order is irrelevant
    title = f"{settings.id}" + (f" — {settings.name}" if settings.name else "")
    click.echo(f"{settings_file}: OK")
    click.echo(f"  campaign   {title} (account {settings.account_id})")
    pacing = f", pacing {settings.pacing}" if settings.mode.value == "predictive" else ""
    click.echo(f"  mode       {settings.mode.value}{pacing}")
    click.echo(f"  preset     {settings.compliance.preset.id}")
    click.echo("  lists")
    for source in settings.lists:
        result = imported[source.name]
        state = "complete" if result.complete else "PARTIAL"
        click.echo(
            f"    {source.name:<16} weight {source.weight:g}  accepted {result.accepted}  "
            f"rejected {result.rejected}  ({state})"
        )
    click.echo(f"  leads at {now.isoformat()}")
    # A scratch compliance state: the check must not leave decisions in anyone's audit log.
    for reason, count in sorted(run.summary(now, ComplianceState()).items(), key=lambda kv: (-kv[1], kv[0])):
        click.echo(f"    {reason:<44} {count}")
    first = next(iter(run.leads), None)
    if settings.script is not None and first is not None:
        click.echo(f"  script for {first}")
        for line in run.script_for(first, agent_name=agent_name).splitlines():
            click.echo(f"    | {line}")
