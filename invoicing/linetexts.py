"""The invoice line descriptions: the product's wording, or the seller's own templates.

A seller may replace the text of each kind of line (new parts, used parts under the margin
scheme, shipping, handling) with a template using ``{count}`` (pieces on the line, or on the
whole order for shipping and handling), ``{order_id}`` and ``{marketplace}``. An empty template
means the product's wording in the invoice's language (Italian: "Mattoncini LEGO, 40 pz —
ordine BrickLink 123"). Templates are validated when saved, so rendering never fails.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from decimal import Decimal
from types import SimpleNamespace

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MARKETPLACE_LABELS = {"bricklink": "BrickLink", "brickowl": "BrickOwl"}
PLACEHOLDERS = ("count", "order_id", "marketplace")
KINDS = ("std", "margin", "shipping", "handling")  # the keys of the texts a plan uses


def validate_line_template(value: str) -> None:
    """Refuse a template that names anything but the placeholders, or that would not format."""
    try:
        parts = list(string.Formatter().parse(value))
    except ValueError as exc:
        raise ValidationError(
            _("Unbalanced braces: write placeholders as {count}, {order_id} or {marketplace}."), code="braces"
        ) from exc
    for _text, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            raise ValidationError(
                _("Unknown placeholder {%(name)s}: use only {count}, {order_id} and {marketplace}."),
                code="placeholder",
                params={"name": name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")},
            )


def line_texts(order, pieces: Mapping[str, int], templates: Mapping[str, str] | None = None) -> dict[str, str]:
    """The description of each kind of line of ``order`` (plus ``label``, the order's name),
    in the active language; a non-empty seller template replaces the product's wording."""
    marketplace = MARKETPLACE_LABELS.get(order.marketplace, order.marketplace)
    label = _("%(marketplace)s order %(number)s") % {"marketplace": marketplace, "number": order.marketplace_order_id}
    texts = {"label": label}
    for kind, what in (("std", _("LEGO parts")), ("margin", _("Used LEGO parts (margin scheme)"))):
        count = _(", %(n)s pcs") % {"n": pieces[kind]} if pieces.get(kind) else ""
        texts[kind] = f"{what}{count} — {label}"
    with_insurance = _("Shipping and insurance") if Decimal(order.insurance or 0) else _("Shipping")
    texts["shipping"] = f"{with_insurance} — {label}"
    handling = _("Handling and other charges")  # outside the f-string, where makemessages sees it
    texts["handling"] = f"{handling} — {label}"
    for kind, template in (templates or {}).items():
        if template and kind in KINDS:
            n = pieces.get(kind, sum(pieces.values()))  # shipping and handling: the whole order's pieces
            texts[kind] = template.format(count=n, order_id=order.marketplace_order_id, marketplace=marketplace)
    return texts


def default_templates() -> dict[str, str]:
    """The product's wording of each kind of line written as a template, in the active language."""
    sample = SimpleNamespace(marketplace="{marketplace}", marketplace_order_id="{order_id}", insurance=0)
    texts = line_texts(sample, {"std": "{count}", "margin": "{count}"})  # type: ignore[dict-item]
    return {kind: texts[kind] for kind in KINDS}
