"""Phone-number normalisation to E.164, with the candidate time zones of each number.

``phonenumbers.parse`` costs 45–80 µs a number, which alone would take more than a minute on a
million-row list, so this module avoids every redundant step:

* separators are stripped first, so ``06-1234 5678`` and ``0612345678`` share one cache entry;
* strings with no digits (or far too many) are rejected without parsing;
* numbers written as ``+CC…``, ``<international prefix>CC…`` or ``<national prefix>…`` are split
  into calling code and national number directly, but only for countries whose numbering metadata
  makes that split unambiguous (plain-digit prefixes, no transform rules, no national number
  starting with the prefix digit); anything else, and every number the shortcut finds invalid, goes
  through the full ``phonenumbers.parse`` so the verdict and the reason are the library's;
* validity (``number_type() != UNKNOWN``, which is what ``is_valid_number`` tests) and the
  time-zone lookup share one number-type computation, and country-level zone lists are cached.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import phonenumbers
from phonenumbers import (
    COUNTRY_CODE_TO_REGION_CODE,
    NumberParseException,
    PhoneMetadata,
    PhoneNumberDesc,
    PhoneNumberFormat,
    PhoneNumberType,
    ValidationResult,
)
from phonenumbers import timezone as pn_timezone
from phonenumbers.phonenumberutil import is_number_type_geographical
from phonenumbers.tzdata import TIMEZONE_DATA as _TIMEZONE_DATA

_UNKNOWN_ZONE = "Etc/Unknown"
# Longest plausible dial string: "00" or "011" international prefix plus the 15 digits E.164 allows,
# with some slack for national trunk prefixes.
_MAX_DIGITS = 20


class NumberProblem(StrEnum):
    """Stable reason codes for numbers that cannot be dialled."""

    EMPTY = "empty_number"
    NOT_A_NUMBER = "not_a_number"
    INVALID_COUNTRY_CODE = "invalid_country_code"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    IMPOSSIBLE = "impossible_number"
    INVALID = "invalid_number"


_MESSAGES = {
    NumberProblem.EMPTY: "no phone number given",
    NumberProblem.NOT_A_NUMBER: "not a phone number",
    NumberProblem.INVALID_COUNTRY_CODE: "unknown country calling code (and no default region applies)",
    NumberProblem.TOO_SHORT: "too few digits for a phone number in this country",
    NumberProblem.TOO_LONG: "too many digits for a phone number in this country",
    NumberProblem.IMPOSSIBLE: "a number of this length cannot exist in this country",
    NumberProblem.INVALID: "the number does not match any number range in use in this country",
}


def problem_message(problem: NumberProblem) -> str:
    """A human sentence for a :class:`NumberProblem`."""
    return _MESSAGES[problem]


@dataclass(frozen=True, slots=True)
class NormalisedNumber:
    """A valid number in E.164 form with its region and candidate time zones (possibly empty)."""

    e164: str
    region: str
    time_zones: tuple[str, ...]


_PARSE_ERRORS = {
    NumberParseException.INVALID_COUNTRY_CODE: NumberProblem.INVALID_COUNTRY_CODE,
    NumberParseException.NOT_A_NUMBER: NumberProblem.NOT_A_NUMBER,
    NumberParseException.TOO_SHORT_AFTER_IDD: NumberProblem.TOO_SHORT,
    NumberParseException.TOO_SHORT_NSN: NumberProblem.TOO_SHORT,
    NumberParseException.TOO_LONG: NumberProblem.TOO_LONG,
}
_POSSIBILITY_PROBLEMS = {
    ValidationResult.INVALID_COUNTRY_CODE: NumberProblem.INVALID_COUNTRY_CODE,
    ValidationResult.TOO_SHORT: NumberProblem.TOO_SHORT,
    ValidationResult.TOO_LONG: NumberProblem.TOO_LONG,
    ValidationResult.INVALID_LENGTH: NumberProblem.IMPOSSIBLE,
}

_country_zones: dict[int, tuple[str, ...]] = {}


def _zones(raw: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return tuple(sorted(z for z in raw if z != _UNKNOWN_ZONE))


def _time_zones(number: phonenumbers.PhoneNumber, number_type: int) -> tuple[str, ...]:
    country_code = number.country_code or 0
    if is_number_type_geographical(number_type, country_code):
        return _zones(pn_timezone.time_zones_for_geographical_number(number))
    # Mobile and non-geographic numbers only tell the country: the answer depends on the calling
    # code alone, so it is cached per code.
    cached = _country_zones.get(country_code)
    if cached is None:
        cached = _country_zones[country_code] = _zones(pn_timezone.time_zones_for_number(number))
    return cached


# Characters people put between digits; removing them never changes which number is meant.
_SEPARATORS = str.maketrans("", "", " -./()\t\u00a0")
_PLAIN_NUMBER = re.compile(r"\+?[0-9]+")
_PLAIN_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True, slots=True)
class _DialingRules:
    """The prefixes of one region, when they are plain digits (otherwise the shortcut is off)."""

    country_code: int
    international_prefix: str | None
    national_prefix: str | None


@lru_cache(maxsize=512)
def _dialing_rules(region: str) -> _DialingRules | None:
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.country_code is None:
        return None
    intl = metadata.international_prefix
    national = metadata.national_prefix
    if national is not None and (
        metadata.national_prefix_transform_rule is not None
        or metadata.national_prefix_for_parsing not in (None, national)
        or not _PLAIN_DIGITS.fullmatch(national)
    ):
        national = None
    return _DialingRules(
        metadata.country_code,
        intl if intl is not None and _PLAIN_DIGITS.fullmatch(intl) else None,
        national,
    )


@lru_cache(maxsize=512)
def _national_prefix_of(country_code: int) -> str | None:
    """The national prefix a national number of this calling code must not start with.

    ``""`` marks a country whose parsing rules are too elaborate for the shortcut.
    """
    regions = COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    if not regions:
        return ""
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, regions[0])
    if metadata is None:
        return ""
    pattern = metadata.national_prefix_for_parsing
    if pattern is None:
        return None
    if metadata.national_prefix_transform_rule is not None or not _PLAIN_DIGITS.fullmatch(pattern):
        return ""
    return pattern


def _split(clean: str, region: str) -> tuple[int, str] | None:
    """Calling code and national number of a separator-free string, when that is unambiguous.

    The national number never starts with ``0`` here (numbers with significant leading zeros go
    through the full parser), so it is the canonical digit string of the number.
    """
    if not _PLAIN_NUMBER.fullmatch(clean):
        return None
    rules = _dialing_rules(region)
    if clean.startswith("+"):
        international = clean[1:]
    elif rules is not None and rules.international_prefix and clean.startswith(rules.international_prefix):
        international = clean[len(rules.international_prefix) :]
    elif rules is not None and rules.national_prefix and clean.startswith(rules.national_prefix):
        national = clean[len(rules.national_prefix) :]
        if not national or national.startswith(("0", rules.national_prefix)):
            return None
        return rules.country_code, national
    else:
        return None
    if international.startswith("0"):
        return None  # no calling code starts with 0: let the full parser judge ("+040…" is invalid)
    # Calling codes are a prefix code (no code is the start of another), so the first hit is it.
    for length in (1, 2, 3):
        code = int(international[:length]) if len(international) > length else 0
        if code in COUNTRY_CODE_TO_REGION_CODE:
            national = international[length:]
            prefix = _national_prefix_of(code)
            if prefix == "" or national.startswith("0") or (prefix and national.startswith(prefix)):
                return None
            return (code, national) if national else None
    return None


# Type descriptions in the order a valid number most likely matches; validity only needs one hit.
_TYPE_DESCS = (
    "mobile", "fixed_line", "toll_free", "premium_rate", "shared_cost", "voip",
    "personal_number", "pager", "uan", "voicemail",
)  # fmt: skip
_Matcher = tuple[frozenset[int], re.Pattern[str]]


def _matcher(desc: PhoneNumberDesc | None) -> _Matcher | None:
    """Possible lengths and compiled pattern of a number description, as the library tests them."""
    if desc is None or not desc.national_number_pattern:
        return None
    return frozenset(desc.possible_length or ()), re.compile(desc.national_number_pattern)


def _fits(national: str, matcher: _Matcher) -> bool:
    lengths, pattern = matcher
    if lengths and len(national) not in lengths:
        return False
    return pattern.fullmatch(national) is not None


@dataclass(frozen=True, slots=True)
class _SingleRegion:
    region: str
    zones: tuple[str, ...]
    general: _Matcher
    types: tuple[_Matcher, ...]


@lru_cache(maxsize=512)
def _single_region(country_code: int) -> _SingleRegion | None:
    """Validation data of a calling code used by one region only, with one time zone.

    For those codes validity does not depend on which region the number belongs to and every
    valid number has the same zone, so the number type need not be computed at all.
    """
    regions = COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())
    if len(regions) != 1:
        return None
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, regions[0])
    if metadata is None:
        return None
    code = str(country_code)
    # Time-zone prefixes start with the calling code, and calling codes are a prefix code.
    zones = _zones(
        sorted({z for prefix, zs in _TIMEZONE_DATA.items() if prefix.startswith(code) for z in zs})
    )
    general = _matcher(metadata.general_desc)
    if len(zones) != 1 or general is None:
        return None
    types = tuple(m for m in (_matcher(getattr(metadata, name)) for name in _TYPE_DESCS) if m is not None)
    return _SingleRegion(regions[0], zones, general, types)


def _fast_valid(single: _SingleRegion, country_code: int, national: str) -> NormalisedNumber | None:
    """Validate a single-region, single-zone number without the full type computation."""
    if not _fits(national, single.general):
        return None
    for matcher in single.types:
        if _fits(national, matcher):
            return NormalisedNumber(f"+{country_code}{national}", single.region, single.zones)
    return None


def _precheck(raw: str) -> NumberProblem | None:
    """Reject strings no parser could turn into a number, without paying for a parse."""
    if not raw:
        return NumberProblem.EMPTY
    if raw.isdigit() or (raw[0] == "+" and raw[1:].isdigit()):
        return NumberProblem.TOO_LONG if len(raw) > _MAX_DIGITS else None
    digits = sum(ch.isdigit() for ch in raw)
    if digits == 0:
        return NumberProblem.NOT_A_NUMBER
    if digits > _MAX_DIGITS:
        return NumberProblem.TOO_LONG
    return None


def normalise_number(raw: str, default_region: str) -> NormalisedNumber | NumberProblem:
    """Normalise ``raw`` (as typed in a list) to E.164, or say why it is not a dialable number.

    ``default_region`` (ISO 3166 alpha-2, e.g. ``"NL"``) applies to numbers written without an
    international prefix. Results are cached per separator-free string and region.
    """
    return _normalise_clean(raw.translate(_SEPARATORS), default_region)


@lru_cache(maxsize=1 << 16)
def _normalise_clean(clean: str, default_region: str) -> NormalisedNumber | NumberProblem:
    problem = _precheck(clean)
    if problem is not None:
        return problem
    split = _split(clean, default_region)
    number: phonenumbers.PhoneNumber | None = None
    # number_type() != UNKNOWN is exactly phonenumbers.is_valid_number(); computing the type once
    # serves both validation and the geographic time-zone lookup.
    number_type = PhoneNumberType.UNKNOWN
    if split is not None:
        country_code, national = split
        single = _single_region(country_code)
        if single is not None:
            fast = _fast_valid(single, country_code, national)
            if fast is not None:
                return fast
        else:
            number = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(national))
            number_type = phonenumbers.number_type(number)
    if number is None or number_type == PhoneNumberType.UNKNOWN:
        parsed = full_parse(clean, default_region)
        if isinstance(parsed, NumberProblem):
            return parsed
        number = parsed
        number_type = phonenumbers.number_type(number)
    if number_type == PhoneNumberType.UNKNOWN:
        possibility = phonenumbers.is_possible_number_with_reason(number)
        return _POSSIBILITY_PROBLEMS.get(possibility, NumberProblem.INVALID)
    region = phonenumbers.region_code_for_number(number) or ""
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return NormalisedNumber(e164, region, _time_zones(number, number_type))


def full_parse(text: str, default_region: str) -> phonenumbers.PhoneNumber | NumberProblem:
    """``phonenumbers.parse`` with its exceptions turned into :class:`NumberProblem` codes."""
    try:
        return phonenumbers.parse(text, default_region)
    except NumberParseException as exc:
        return _PARSE_ERRORS.get(exc.error_type, NumberProblem.NOT_A_NUMBER)


def is_e164(text: str) -> bool:
    """True if ``text`` is a valid number written in canonical E.164 form (``+`` and digits)."""
    result = normalise_number(text, "ZZ")
    return isinstance(result, NormalisedNumber) and result.e164 == text


def time_zones_for(e164: str) -> tuple[str, ...]:
    """Candidate time zones of a number already in E.164 form (empty if unknown or invalid)."""
    result = normalise_number(e164, "ZZ")
    return result.time_zones if isinstance(result, NormalisedNumber) else ()
