"""Suggested products for the mapping page: for each slot, the seller's Fatture product whose VAT
fits what the slot expects (rate and natura, fatture/mapping.py) and whose name or code says what
the slot is for ("spedizione", "usato", "UE", "extra" …), with a short "why" for the seller.

A pure function over the catalogue: no query, no call. The VAT must fit, always; words only choose
among the products that fit. A product named for another purpose (a shipping product for goods,
"usato" for standard goods) is never suggested. Shipping and handling need their words: a plain
22 % product says nothing about being shipping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext

from invoicing.accounting import Slot

from .catalogue import Product, percent
from .mapping import ExpectedVat, vat_matches

# Word groups, Italian and English; a word matches a token of the name or code that starts with it.
GOODS = ("lego", "mattoncin", "brick", "pezz", "part", "set", "minifig", "nuov", "new")
USED = ("usat", "used", "margin", "second")
EU = ("ue", "eu", "cee", "intra", "europ")
EXPORT = ("extra", "export", "esport")
SHIPPING = ("spedizion", "shipping", "trasport", "postage", "porto")
HANDLING = ("gestion", "handling", "imball", "packag", "commission")


@dataclass(frozen=True)
class SlotWords:
    wanted: tuple[tuple[str, ...], ...]  # in order of weight
    unwanted: tuple[tuple[str, ...], ...] = ()
    required: bool = False  # a product without a wanted word is no suggestion


SLOT_WORDS: dict[str, SlotWords] = {
    Slot.STD_DOMESTIC: SlotWords((GOODS,), (USED, EU, EXPORT, SHIPPING, HANDLING)),
    Slot.STD_EU: SlotWords((EU, GOODS), (USED, EXPORT, SHIPPING, HANDLING)),
    Slot.STD_EXPORT: SlotWords((EXPORT, GOODS), (USED, SHIPPING, HANDLING)),
    Slot.MARGIN_DOMESTIC: SlotWords((USED, GOODS), (EU, EXPORT, SHIPPING, HANDLING)),
    Slot.MARGIN_EU: SlotWords((USED, EU), (EXPORT, SHIPPING, HANDLING)),
    Slot.MARGIN_EXPORT: SlotWords((EXPORT, USED), (SHIPPING, HANDLING)),
    Slot.SHIPPING: SlotWords((SHIPPING,), (USED, HANDLING), required=True),
    Slot.HANDLING: SlotWords((HANDLING,), (USED, SHIPPING), required=True),
}


@dataclass(frozen=True)
class Suggestion:
    product: Product
    why: str


def _tokens(product: Product) -> list[str]:
    return re.findall(r"[^\W_]+", f"{product.name} {product.code}".lower())


def _match(tokens: list[str], words: tuple[str, ...]) -> str:
    """The first token that starts with one of ``words`` (two-letter words must match whole)."""
    for token in tokens:
        for word in words:
            if token == word or (len(word) > 2 and token.startswith(word)):
                return token
    return ""


def _score(product: Product, expected: ExpectedVat, words: SlotWords) -> tuple[int, str] | None:
    """(score, the word that best says why) or None when the product is not for this slot."""
    tokens = _tokens(product)
    if any(_match(tokens, group) for group in words.unwanted):
        return None
    score, why = 0, ""
    for weight, group in zip(range(len(words.wanted) * 2, 0, -2), words.wanted, strict=False):
        if found := _match(tokens, group):
            score += weight
            why = why or found
    if words.required and not score:
        return None
    if expected.natures and product.vat_ei_type.upper() in expected.natures:
        score += 1  # the natura itself says it, not only the 0 % rate
    return score, why


def _why(product: Product, expected: ExpectedVat, word: str) -> str:
    natura = product.vat_ei_type if expected.natures and product.vat_ei_type else ""
    vat = f"{percent(product.vat_value)} {natura}".strip()
    if word:
        return gettext("Its VAT (%(vat)s) is the one this slot expects and its name or code says “%(word)s”.") % {
            "vat": vat,
            "word": word,
        }
    return gettext("Its VAT (%(vat)s) is the one this slot expects.") % {"vat": vat}


def suggest_products(*, products: list[Product], expected: dict[str, ExpectedVat]) -> dict[str, Suggestion]:
    """The best product of the catalogue for each slot in ``expected`` (slots with none are left
    out). Ties go to the earlier product of the catalogue."""
    suggestions = {}
    for slot, vat in expected.items():
        best: tuple[int, Product, str] | None = None
        for product in products:
            if not vat_matches(expected=vat, value=product.vat_value, ei_type=product.vat_ei_type):
                continue
            scored = _score(product, vat, SLOT_WORDS[slot])
            if scored is not None and (best is None or scored[0] > best[0]):
                best = (scored[0], product, scored[1])
        if best is not None:
            suggestions[slot] = Suggestion(best[1], _why(best[1], vat, best[2]))
    return suggestions
