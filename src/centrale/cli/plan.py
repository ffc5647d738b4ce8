"""`centrale plan …` — workforce planning: staffing a day, forecasting, shift scheduling."""

from __future__ import annotations

import click

from centrale.cli.plan_forecast import forecast
from centrale.cli.plan_schedule import schedule
from centrale.cli.plan_skills import check
from centrale.cli.plan_staff import staff


@click.group()
def plan() -> None:
    """Workforce planning: staffing, forecasting and shift schedules."""


plan.add_command(staff)
plan.add_command(forecast)
plan.add_command(schedule)
plan.add_command(check)
