"""Where an order ships to, for VAT: domestic, EU, or export (docs/architecture.md §4.6;
docs/tax.md §0, §4, §11).

Pure functions, no I/O. Territories that are politically in an EU state but outside the EU VAT
area are exports for goods; they are recognised by country code or by postcode.
The special-territory list in italian-vat.md is marked [UNCONFIRMED]; it is kept here as data,
in one place, so the seller's accountant can have it corrected without touching the logic.
"""

import re
from enum import StrEnum

from django.utils.translation import gettext


class Region(StrEnum):
    DOMESTIC = "domestic"
    EU = "eu"
    EXPORT = "export"


EU_MEMBER_STATES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
    ]
)

# Codes marketplaces may send for the same country, mapped to ISO 3166-1 alpha-2.
COUNTRY_ALIASES = {"UK": "GB", "EL": "GR", "XI": "GB"}

# Monaco is in the French VAT area; the Isle of Man in the UK's (so export, like GB).
VAT_AREA_OF = {"MC": "FR"}

# Separate ISO codes for territories outside the EU VAT area (always export):
# Åland, the French overseas departments and collectivities, Canary Islands have none.
NON_VAT_TERRITORY_CODES = frozenset({"AX", "GP", "MQ", "GF", "RE", "YT", "BL", "MF", "PM", "NC", "PF", "WF"})

# (country, postcode pattern, name): inside a member state, outside its VAT area.
_SPECIAL_POSTCODES = [
    ("ES", r"^(35|38)\d{3}$", "Canary Islands"),
    ("ES", r"^51\d{3}$", "Ceuta"),
    ("ES", r"^52\d{3}$", "Melilla"),
    ("IT", r"^23041$", "Livigno"),
    ("IT", r"^2206[01]$", "Campione d'Italia"),
    ("FI", r"^22\d{3}$", "Åland"),
    ("GR", r"^6308[67]$", "Mount Athos"),
    ("DE", r"^27498$", "Heligoland"),
    ("DE", r"^78266$", "Büsingen am Hochrhein"),
    ("FR", r"^97[1-8]\d{2}$", "French overseas department"),
]
SPECIAL_TERRITORIES = [(c, re.compile(p), name) for c, p, name in _SPECIAL_POSTCODES]


def normalise_country(code: str) -> str:
    code = (code or "").strip().upper()
    return COUNTRY_ALIASES.get(code, code)


def _clean_postcode(postcode: str) -> str:
    return re.sub(r"[\s\-]", "", postcode or "").upper()


def special_territory(country: str, postcode: str) -> str | None:
    """The name of the non-VAT territory this address is in, if any."""
    country = normalise_country(country)
    if country in NON_VAT_TERRITORY_CODES:
        return country
    postcode = _clean_postcode(postcode)
    for territory_country, pattern, name in SPECIAL_TERRITORIES:
        if country == territory_country and pattern.match(postcode):
            return name
    return None


def is_northern_ireland(country: str, postcode: str) -> bool:
    """Northern Ireland follows EU VAT rules for goods: GB with a BT postcode, or the XI code."""
    raw = (country or "").strip().upper()
    return raw == "XI" or (normalise_country(raw) == "GB" and _clean_postcode(postcode).startswith("BT"))


def region_for(*, country: str, postcode: str, seller_country: str) -> Region:
    """Domestic (the seller's own VAT area), EU (other member states + NI), or export.

    Raises ValueError for an empty or unknown-shaped country code: the caller stores that as
    a data error on the order rather than guessing a VAT treatment.
    """
    code = normalise_country(country)
    if not re.fullmatch(r"[A-Z]{2}", code):
        raise ValueError(gettext("unknown shipping country %(code)s") % {"code": repr(country)})
    seller = normalise_country(seller_country)
    if special_territory(code, postcode):
        return Region.EXPORT
    if is_northern_ireland(country, postcode):
        return Region.EU if seller != "GB" else Region.DOMESTIC
    code = VAT_AREA_OF.get(code, code)
    if code == seller:
        return Region.DOMESTIC
    if code in EU_MEMBER_STATES and seller in EU_MEMBER_STATES:
        return Region.EU
    return Region.EXPORT
