"""The 0 % VAT types the seller's invoices need (docs/tax.md §12), whether the Fatture company has
each, and creating a missing one on the seller's request (docs/providers/fatture-in-cloud.md §5.2).

An invoice line takes the VAT type its treatment needs (invoicing/vat.py): its product's own when
it fits, else the company's VAT type with that rate and natura. Without one, the order is held
with ``vat_type_missing``. The legal wording goes in the document's notes (invoicing/plan.py), so a
type created here carries a plain description and no notes, never printing the wording twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accounts.choices import MarginRule, OssNatura
from accounts.services import settings_for
from brickinvoice.errors import Text
from invoicing.accounting import accounting_ready

from .catalogue import VatType, vat_types_list
from .client import FattureClient
from .connection import require_company
from .models import FattureConnection
from .vat_types import vat_type_create, vat_type_find

ZERO = Decimal("0")


@dataclass(frozen=True)
class VatNeed:
    """A non-taxable VAT type some invoices need: its natura, what it is for, the description it is
    created with (Italian: it prints on invoices), whether the seller's settings make it needed
    now, and the company's matching VAT type if it has one."""

    natura: str
    purpose: Text
    description: str
    needed_now: bool
    present: VatType | None = None


# natura → (purpose, description printed on the invoice's VAT summary)
_KINDS: dict[str, tuple[Text, str]] = {
    "N3.1": (_("Exports outside the EU"), "Non imponibile art. 8 c.1 lett. a) DPR 633/72"),
    "N3.2": (
        _("EU business buyers (art. 41), and OSS sales with natura N3.2"),
        "Non imponibile - cessioni intracomunitarie",
    ),
    "N5": (_("Second-hand goods under the margin scheme"), "Regime del margine art. 36 DL 41/95"),
    "N7": (_("OSS sales with natura N7"), "IVA assolta in altro Stato UE (OSS)"),
    "N2.2": (_("Flat-rate (forfettario) seller: every sale"), "Non soggetta - regime forfettario L. 190/2014"),
}


def vat_needs(*, tenant, connection: FattureConnection) -> list[VatNeed]:
    """What the seller's settings call for, in a stable order, with the company's matching types
    (the cached VAT-type list: no call when it is warm)."""
    seller = settings_for(tenant)
    if not seller.vat_registered:
        wanted = {"N2.2": True}
    else:
        oss_natura = seller.oss_natura or OssNatura.N3_2
        wanted = {
            "N3.1": True,
            "N3.2": True,  # as soon as the seller records an EU business buyer
            "N5": seller.margin_rule != MarginRule.OFF,
            "N7": oss_natura == OssNatura.N7 and seller.oss_opted_in,
        }
        if oss_natura != OssNatura.N7:
            wanted.pop("N7")
    types = vat_types_list(connection=connection)
    needs = []
    for natura, needed_now in wanted.items():
        purpose, description = _KINDS[natura]
        present = vat_type_find(types, value=ZERO, natura=natura)
        needs.append(VatNeed(natura, purpose, description, needed_now, present))
    return needs


def vat_need_create(*, tenant, connection: FattureConnection, natura: str) -> VatType:
    """Create the 0 % VAT type with ``natura`` unless the company already has one. Only the naturas
    the seller's settings list can be created. Invoices held for it are then planned again."""
    need = next((n for n in vat_needs(tenant=tenant, connection=connection) if n.natura == natura), None)
    if need is None:
        raise ValueError(f"natura {natura!r} is not one this seller needs")
    if need.present is not None:
        return need.present
    require_company(connection)
    created = vat_type_create(
        FattureClient(connection),
        value=ZERO,
        natura=natura,
        description=need.description,
        notes="",
        ei_description=need.description,
    )
    transaction.on_commit(lambda: accounting_ready.send(sender=FattureConnection, tenant=tenant))
    return created
