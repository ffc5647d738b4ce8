"""Phone-number normalisation: examples, and parity with phonenumbers' own parse + validation."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from centrale.outbound.geo import narrow_zones
from centrale.outbound.phone import NormalisedNumber, NumberProblem, is_e164, normalise_number


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("0612345678", "+31612345678"),
        ("06-12345678", "+31612345678"),
        ("06 1234 5678", "+31612345678"),
        ("+31 6 12345678", "+31612345678"),
        ("0031612345678", "+31612345678"),
        ("+31 (0)20 123 4567", "+31201234567"),
        ("(020) 123 4567", "+31201234567"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+1 (213) 555-0123", "+12135550123"),
    ],
)
def test_valid_numbers_become_e164(raw: str, e164: str) -> None:
    result = normalise_number(raw, "NL")
    assert isinstance(result, NormalisedNumber)
    assert result.e164 == e164


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("", NumberProblem.EMPTY),
        ("   ", NumberProblem.EMPTY),
        ("n/a", NumberProblem.NOT_A_NUMBER),
        ("+999 1234567", NumberProblem.INVALID_COUNTRY_CODE),
        ("0612", NumberProblem.TOO_SHORT),
        ("06-1234", NumberProblem.INVALID),
        ("1234567890123456789012", NumberProblem.TOO_LONG),
        ("0699999999", NumberProblem.INVALID),  # 069 is not an assigned mobile range
    ],
)
def test_unusable_numbers_say_why(raw: str, problem: NumberProblem) -> None:
    assert normalise_number(raw, "NL") == problem


def test_time_zones_come_from_the_number() -> None:
    la = normalise_number("+1 213 555 0123", "US")
    sd = normalise_number("+1 605 555 0123", "US")
    assert isinstance(la, NormalisedNumber) and la.time_zones == ("America/Los_Angeles",)
    assert isinstance(sd, NormalisedNumber) and len(sd.time_zones) == 2  # South Dakota spans two zones


def test_the_address_narrows_an_ambiguous_number() -> None:
    zones, narrowed = narrow_zones(("America/Chicago", "America/Denver", "America/New_York"), "US", "CO")
    assert (zones, narrowed) == (("America/Denver",), True)
    # The address contradicts the number: keep both, the call must be allowed everywhere.
    zones, narrowed = narrow_zones(("America/Denver", "America/North_Dakota/Center"), "US", "CA")
    assert set(zones) == {"America/Denver", "America/North_Dakota/Center", "America/Los_Angeles"}
    assert narrowed


def test_is_e164() -> None:
    assert is_e164("+31612345678")
    assert not is_e164("0612345678")
    assert not is_e164("+31 6 12345678")


_REGIONS = ("NL", "BE", "DE", "GB", "FR", "US", "IT", "RU", "AR", "BR", "AU", "JP", "MX", "IN")
_PREFIXES = ("", "+", "00", "0", "011", "8", "1")


@settings(max_examples=400, deadline=None)
@given(
    region=st.sampled_from(_REGIONS),
    prefix=st.sampled_from(_PREFIXES),
    digits=st.text(alphabet="0123456789", min_size=4, max_size=14),
    separator=st.sampled_from(("", " ", "-")),
)
def test_same_verdict_as_phonenumbers(region: str, prefix: str, digits: str, separator: str) -> None:
    """The shortcuts never change the result: valid exactly when phonenumbers says so, same E.164."""
    raw = prefix + separator.join((digits[:3], digits[3:]))
    ours = normalise_number(raw, region)
    try:
        parsed = phonenumbers.parse(raw, region)
        valid = phonenumbers.is_valid_number(parsed)
    except phonenumbers.NumberParseException:
        valid = False
    if valid:
        assert isinstance(ours, NormalisedNumber), raw
        assert ours.e164 == phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    else:
        assert isinstance(ours, NumberProblem), raw


def test_a_calling_code_never_starts_with_zero() -> None:
    """Found by the property above: '+040219000' is not Romania's +40 21 9000 (phonenumbers: invalid)."""
    assert isinstance(normalise_number("+040219000", "NL"), NumberProblem)
    assert isinstance(normalise_number("00040219000", "NL"), NumberProblem)
