"""Campaign settings: YAML loading with file/field/problem errors, scripts, forms, the CLI check."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from centrale.cli.campaign import campaign as campaign_cli
from centrale.outbound.campaign_config import CampaignMode, load_campaign
from centrale.outbound.campaign_errors import CampaignConfigError
from centrale.outbound.form import FieldType, Form, FormField
from centrale.outbound.script import Script

from .campaign_helpers import base_settings

EXAMPLE = Path(__file__).parents[2] / "examples" / "outbound" / "campaign.yaml"


def write(tmp_path: Path, data: dict[str, Any] | str) -> Path:
    path = tmp_path / "campaign.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


def error(tmp_path: Path, **changes: Any) -> CampaignConfigError:
    data = base_settings()
    data.update(changes)
    with pytest.raises(CampaignConfigError) as err:
        load_campaign(write(tmp_path, data))
    return err.value


def test_the_example_loads() -> None:
    s = load_campaign(EXAMPLE)
    assert s.mode is CampaignMode.PREDICTIVE and s.pacing == "predictive"
    assert s.lists[0].path == EXAMPLE.parent / "contacts.csv"
    assert s.compliance.caller_id == "+31201234567" and s.compliance.ring_timeout_seconds == 25
    assert s.dispositions["do_not_call"].category == "do_not_call"
    assert s.targets.sales_per_agent_per_week == 3


@pytest.mark.parametrize(
    ("changes", "where", "problem"),
    [
        ({"mode": "predictiv"}, "mode", "Input should be"),
        ({"retyr": {}}, "top level", "unknown key 'retyr' (did you mean 'retry'?)"),
        (
            {"retry": {"busy": {"delay": "10 minutes", "max_attempts": 2}}},
            "retry.busy.delay",
            "expected a duration",
        ),
        (
            {"retry": {"busy": {"delay": "10m", "max_attempts": 0}}},
            "retry.busy.max_attempts",
            "greater than or equal to 1",
        ),
        (
            {"lists": [{"name": "a", "file": "a.csv", "map": {"phone": "T"}, "weight": -1}]},
            "lists[0].weight",
            "greater than 0",
        ),
        (
            {"lists": [{"name": "a", "file": "a.csv", "map": {"fone": "T"}}]},
            "lists[0].map",
            "unknown contact field 'fone'",
        ),
        ({"script": {"text": "Hello {first_nam}"}}, "script", "unknown field {first_nam}"),
        ({"script": {"text": "Hello {first_name.__class__}"}}, "script", "is not a field name"),
        ({"script": {"text": "Hello {first_name!r}"}}, "script", "format spec or conversion"),
        ({"lead_order": {"by": "priority"}}, "lead_order", "needs a field"),
        (
            {"lead_order": {"by": "priority", "field": "custom.nope"}},
            "lead_order.field",
            "unknown field 'custom.nope'",
        ),
        ({"pacing": "vicidial"}, "pacing", "only predictive campaigns"),
        ({"mode": "predictive", "pacing": "turbo"}, "pacing", "unknown pacing policy 'turbo'"),
        ({"active": {"time_zone": "Mars/Olympus"}}, "active.time_zone", "unknown time zone"),
        ({"active": {"hours": {"mon": ["21:00", "09:00"]}}}, "active.hours.mon", "start before they end"),
        (
            {"dispositions": [{"code": "sale", "category": "sale"}]},
            "dispositions",
            "no disposition has category do_not_call",
        ),
        (
            {"dispositions": [{"code": "x", "category": "bought"}]},
            "dispositions[0].category",
            "Input should be",
        ),
        (
            {"compliance": {"preset": "nl", "caller_id": "+31201234567"}},
            "compliance.caller_id",
            "set by the campaign",
        ),
        ({"compliance": {"preset": "zz"}}, "compliance", "zz"),
        ({"agentless": {"message": "hi"}}, "agentless", "only for mode agentless"),
        ({"mode": "agentless"}, "agentless", "needs a message or a survey"),
        ({"language": "de"}, "language", "Input should be 'nl' or 'en'"),
        ({"form": {"fields": [{"name": "n", "type": "choice"}]}}, "form.fields[0]", "needs choices"),
        (
            {"form": {"fields": [{"name": "n", "type": "text", "pattern": "("}]}},
            "form.fields[0]",
            "not a valid regular expression",
        ),
    ],
)
def test_errors_name_file_field_and_problem(
    tmp_path: Path, changes: dict[str, Any], where: str, problem: str
) -> None:
    err = error(tmp_path, **changes)
    assert err.source.endswith("campaign.yaml")
    assert err.where == where
    assert problem in err.problem
    assert str(err).startswith(f"{err.source}: {where}: ")


@pytest.mark.parametrize(
    ("preset", "language", "expected"),
    [("nl", None, "nl"), ("uk", None, "en"), ("us", None, "en"), ("nl", "en", "en"), ("uk", "nl", "nl")],
)
def test_messages_are_spoken_in_the_presets_language_unless_told(
    tmp_path: Path, preset: str, language: str | None, expected: str
) -> None:
    data = base_settings()
    data["compliance"] = {**data["compliance"], "preset": preset}
    if language is not None:
        data["language"] = language
    assert load_campaign(write(tmp_path, data)).language == expected


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(CampaignConfigError, match="file not found"):
        load_campaign(tmp_path / "missing.yaml")
    with pytest.raises(CampaignConfigError, match=r"line \d+, column \d+: not valid YAML"):
        load_campaign(write(tmp_path, "campaign: [unclosed\n"))
    with pytest.raises(CampaignConfigError, match="must be a mapping"):
        load_campaign(write(tmp_path, "- a list\n"))
    missing = base_settings()
    del missing["campaign"]
    assert error(tmp_path, campaign=None).where == "campaign"
    with pytest.raises(CampaignConfigError, match="campaign: this field is required"):
        load_campaign(write(tmp_path, missing))


# -- script -----------------------------------------------------------------------------------------------


def test_script_substitution_defaults_and_escapes() -> None:
    script = Script.parse(
        "Hello {first_name} {last_name}! {{not a field}} {custom.segment}",
        {"first_name", "last_name", "custom.segment"},
        {"first_name": "there"},
    )
    assert script.fields == ("first_name", "last_name", "custom.segment")
    assert (
        script.render({"first_name": "Anna", "last_name": "de Jong", "custom.segment": "A"})
        == "Hello Anna de Jong! {not a field} A"
    )
    assert script.render({"last_name": ""}) == "Hello there ! {not a field} "
    # Values are inserted as text, never formatted again.
    assert script.render({"first_name": "{last_name}"}).startswith("Hello {last_name} ")


def test_script_errors() -> None:
    with pytest.raises(ValueError, match="unknown field"):
        Script.parse("{x}", {"y"})
    with pytest.raises(ValueError, match="not a field name"):
        Script.parse("{0}", {"y"})
    with pytest.raises(ValueError, match="not a valid script template"):
        Script.parse("Hello {first_name", {"first_name"})
    with pytest.raises(ValueError, match="defaults given for unknown fields"):
        Script.parse("hi", {"a"}, {"b": "x"})


# -- form -------------------------------------------------------------------------------------------------


FORM = Form(
    "order",
    (
        FormField("name", FieldType.TEXT, required=True, min=Decimal(2), max=Decimal(20)),
        FormField("postcode", FieldType.TEXT, pattern=r"[1-9][0-9]{3} ?[A-Z]{2}"),
        FormField("amount", FieldType.NUMBER, min=Decimal(20), max=Decimal(500)),
        FormField("start", FieldType.DATE, required=True, min=date(2027, 1, 1)),
        FormField("product", FieldType.CHOICE, choices=("fixed", "variable")),
        FormField("phone", FieldType.PHONE, region="NL"),
        FormField("email", FieldType.EMAIL),
    ),
)


def test_form_valid_submission_is_typed() -> None:
    result = FORM.validate(
        {
            "name": "Anna",
            "postcode": "1012 AB",
            "amount": "49.50",
            "start": "2027-02-01",
            "product": "fixed",
            "phone": "06-12345678",
            "email": "anna@example.nl",
        }
    )
    assert result.valid
    assert result.values["amount"] == Decimal("49.50")
    assert result.values["start"] == date(2027, 2, 1)
    assert result.values["phone"] == "+31612345678"


def test_form_reports_every_bad_field() -> None:
    result = FORM.validate(
        {
            "name": "A",
            "postcode": "12345",
            "amount": "lots",
            "start": "",
            "product": "cheap",
            "phone": "0612",
            "email": "anna@",
            "colour": "red",
        }
    )
    assert result.errors == {
        "name": "must be at least 2 characters",
        "postcode": "does not have the expected form ([1-9][0-9]{3} ?[A-Z]{2})",
        "amount": "'lots' is not a number",
        "start": "is required",
        "product": "'cheap' is not one of fixed, variable",
        "phone": "'0612' is not a valid phone number: too few digits for a phone number in this country",
        "email": "'anna@' is not an e-mail address",
        "colour": "is not a field of form 'order'",
    }
    assert FORM.validate({"name": "Anna", "start": "2026-12-31"}).errors == {
        "start": "2026-12-31 is below the minimum 2027-01-01"
    }
    assert FORM.validate({"name": "Anna", "start": "2027-01-01", "amount": "501"}).errors == {
        "amount": "501 is above the maximum 500"
    }


# -- CLI --------------------------------------------------------------------------------------------------


def test_cli_check_prints_a_summary() -> None:
    result = CliRunner().invoke(
        campaign_cli, ["check", str(EXAMPLE), "--at", "2026-12-07T11:00", "--agent-name", "Eva"]
    )
    assert result.exit_code == 0, result.output
    assert "accepted 6  rejected 5" in result.output
    assert "callable now" in result.output and "blocked by nl.consent" in result.output
    assert "This is Eva from Energie BV" in result.output


def test_cli_check_outside_active_hours() -> None:
    result = CliRunner().invoke(campaign_cli, ["check", str(EXAMPLE), "--at", "2026-12-06T11:00"])
    assert result.exit_code == 0
    assert "campaign not active now" in result.output


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    data = base_settings()
    data["retry"] = {"busy": {"delay": "soon", "max_attempts": 2}}
    result = CliRunner().invoke(campaign_cli, ["check", str(write(tmp_path, data))])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "retry.busy.delay" in lines[0]
    missing_list = CliRunner().invoke(campaign_cli, ["check", str(write(tmp_path, base_settings()))])
    assert missing_list.exit_code == 2 and "a.csv" in missing_list.output
    bad_time = CliRunner().invoke(campaign_cli, ["check", str(EXAMPLE), "--at", "tomorrow"])
    assert bad_time.exit_code == 2 and "--at" in bad_time.output
