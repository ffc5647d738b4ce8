"""Entry point of the `centrale` command.

Sub-commands are registered here and implemented in their own modules, which import their heavy
dependencies lazily so that `centrale --help` stays fast.
"""

from __future__ import annotations

import click

from centrale import __version__
from centrale.cli.campaign import campaign
from centrale.cli.demo import demo
from centrale.cli.erlang import erlang
from centrale.cli.lists import lists
from centrale.cli.plan import plan
from centrale.cli.serve import admin, serve
from centrale.cli.simulate import simulate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="centrale")
def cli() -> None:
    """centrale — contact-center engine, simulator and planning."""


cli.add_command(simulate)
cli.add_command(erlang)
cli.add_command(plan)
cli.add_command(lists)
cli.add_command(campaign)
cli.add_command(serve)
cli.add_command(admin)
cli.add_command(demo)


def main() -> None:
    cli(prog_name="centrale")
