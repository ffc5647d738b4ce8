"""Narrowing a number's candidate time zones with the contact's postal address.

A US area code can span two zones (605 South Dakota: Central and Mountain) and toll-free or
non-geographic numbers say nothing at all. When the list gives the state, the candidate set is
intersected with the zones of that state. The table lists the IANA zones in use in each state,
including the smaller ones, so that an intersection never drops a zone the state really uses.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_E = "America/New_York"
_C = "America/Chicago"
_M = "America/Denver"
_P = "America/Los_Angeles"

US_STATE_ZONES: dict[str, frozenset[str]] = {
    code: frozenset(zones)
    for code, zones in {
        "AL": (_C,),
        "AK": (
            "America/Anchorage",
            "America/Juneau",
            "America/Nome",
            "America/Sitka",
            "America/Yakutat",
            "America/Metlakatla",
            "America/Adak",
        ),
        "AZ": ("America/Phoenix", _M),
        "AR": (_C,),
        "CA": (_P,),
        "CO": (_M,),
        "CT": (_E,),
        "DE": (_E,),
        "DC": (_E,),
        "FL": (_E, _C),
        "GA": (_E,),
        "HI": ("Pacific/Honolulu",),
        "ID": ("America/Boise", _P),
        "IL": (_C,),
        "IN": (
            "America/Indiana/Indianapolis",
            "America/Indiana/Knox",
            "America/Indiana/Marengo",
            "America/Indiana/Petersburg",
            "America/Indiana/Tell_City",
            "America/Indiana/Vevay",
            "America/Indiana/Vincennes",
            "America/Indiana/Winamac",
            _E,
            _C,
        ),
        "IA": (_C,),
        "KS": (_C, _M),
        "KY": (_E, _C, "America/Kentucky/Louisville", "America/Kentucky/Monticello"),
        "LA": (_C,),
        "ME": (_E,),
        "MD": (_E,),
        "MA": (_E,),
        "MI": ("America/Detroit", _E, _C, "America/Menominee"),
        "MN": (_C,),
        "MS": (_C,),
        "MO": (_C,),
        "MT": (_M,),
        "NE": (_C, _M),
        "NV": (_P,),
        "NH": (_E,),
        "NJ": (_E,),
        "NM": (_M,),
        "NY": (_E,),
        "NC": (_E,),
        "ND": (
            _C,
            _M,
            "America/North_Dakota/Center",
            "America/North_Dakota/New_Salem",
            "America/North_Dakota/Beulah",
        ),
        "OH": (_E,),
        "OK": (_C,),
        "OR": (_P, "America/Boise"),
        "PA": (_E,),
        "RI": (_E,),
        "SC": (_E,),
        "SD": (_C, _M),
        "TN": (_C, _E),
        "TX": (_C, _M),
        "UT": (_M,),
        "VT": (_E,),
        "VA": (_E,),
        "WA": (_P,),
        "WV": (_E,),
        "WI": (_C,),
        "WY": (_M,),
        "PR": ("America/Puerto_Rico",),
        "GU": ("Pacific/Guam",),
        "VI": ("America/St_Thomas",),
        "AS": ("Pacific/Pago_Pago",),
        "MP": ("Pacific/Saipan",),
    }.items()
}


def zones_for_address(country: str, state: str) -> frozenset[str]:
    """IANA zones of a postal address's state/province, or an empty set if unknown."""
    if country.strip().upper() not in {"", "US", "USA"}:
        return frozenset()
    return US_STATE_ZONES.get(state.strip().upper(), frozenset())


def narrow_zones(number_zones: tuple[str, ...], country: str, state: str) -> tuple[tuple[str, ...], bool]:
    """Candidate zones for a contact and whether the address was used to narrow them.

    Only an ambiguous number is narrowed. When the address contradicts the number entirely (the
    intersection is empty — people keep their mobile number when they move) both are kept: the
    contact may be in either place, so the call must be allowed in all of them.
    """
    if len(number_zones) <= 1:
        return number_zones, False
    address_zones = zones_for_address(country, state)
    if not address_zones:
        return number_zones, False
    common = address_zones.intersection(number_zones)
    if common:
        return tuple(sorted(common)), True
    return tuple(sorted(address_zones.union(number_zones))), True


def is_time_zone(name: str) -> bool:
    """True if ``name`` is an IANA time-zone key known to :mod:`zoneinfo`."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
