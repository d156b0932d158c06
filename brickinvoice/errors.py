"""The error vocabulary a seller can meet (docs/architecture.md §6), and the typed error every client raises.

Each code has a message in plain words and a hint that says what to do. Clients raise
``ServiceError`` subclasses carrying a code; services store ``code`` / ``message`` / ``hint``
on the object that failed, and templates show them. No secret ever goes into ``detail``.
"""

from dataclasses import dataclass
from typing import Protocol

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Text a seller reads: a plain string or a lazily translated one (django.utils.translation).
Text = str | Promise


@dataclass(frozen=True)
class Entry:
    """One code of the catalogue: its message and hint, translated when shown."""

    message: Text
    hint: Text


@dataclass(frozen=True)
class ErrorText:
    """A code's message and hint in the current language, parameters filled in."""

    message: str
    hint: str


CATALOGUE: dict[str, Entry] = {
    # Fatture in Cloud
    "email_not_registered": Entry(
        _("Email Not Registered: this Fatture in Cloud account's e-mail is not pre-registered."),
        _(
            "Ask for pre-registration on the Accounting page (or write to support) using the e-mail of your "
            "Fatture in Cloud login, wait for approval, then connect again."
        ),
    ),
    "fatture_connect_failed": Entry(
        _("Failed to Connect to Fatture in Cloud."),
        _(
            "Try again. If it keeps failing, check that you approved access on the Fatture in Cloud page and "
            "that your Fatture in Cloud plan includes API access."
        ),
    ),
    "fatture_auth_failed": Entry(
        _("Token Expired / Authentication Failed: Fatture in Cloud no longer accepts our access."),
        _("Reconnect Fatture in Cloud on the Accounting page. Invoicing is paused until you do."),
    ),
    "fatture_not_connected": Entry(
        _("Fatture in Cloud is not connected."),
        _("Connect Fatture in Cloud on the Accounting page, then pick the company and map the products."),
    ),
    "fatture_not_found": Entry(
        _("Fatture in Cloud could not find what we asked for."),
        _("Check that the company, client or document still exists in Fatture in Cloud, then retry."),
    ),
    "products_not_loading": Entry(
        _("Products Not Loading: the product list could not be read from Fatture in Cloud."),
        _(
            "Check that the selected company has products (Fatture in Cloud → Products and services) and "
            "that the connected user may see them, then press Refresh products."
        ),
    ),
    "company_not_found": Entry(
        _("Company Not Found: the selected company is no longer available to this Fatture in Cloud user."),
        _("Pick the company again on the Accounting page, or reconnect with a user that can access it."),
    ),
    "no_company_selected": Entry(
        _("No company selected."),
        _("Choose the Fatture in Cloud company to invoice from on the Accounting page."),
    ),
    "product_not_found": Entry(
        _("Product {product_id} not found in Fatture in Cloud."),
        _(
            "The product mapped to the '{slot}' slot was deleted or moved. Map that slot to an existing "
            "product on the Product mapping page."
        ),
    ),
    "vat_rate_mismatch": Entry(
        _("VAT rate mismatch: product '{product}' has VAT {actual}, the '{slot}' slot expects {expected}."),
        _(
            "Pick a product with the expected VAT rate for this slot, or change the product's VAT in "
            "Fatture in Cloud and press Refresh products."
        ),
    ),
    "slot_not_mapped": Entry(
        _("No product is mapped to the '{slot}' slot."),
        _("Map a Fatture in Cloud product to every slot this order needs on the Product mapping page."),
    ),
    "invoice_creation_failed": Entry(
        _("Invoice Creation Failed: Fatture in Cloud refused the invoice."),
        _("Read the reason below, correct the mapping, customer or settings it names, then press Retry."),
    ),
    "fatture_quota": Entry(
        _("Fatture in Cloud's request quota is used up for now."),
        _("Nothing to do: invoicing resumes by itself when Fatture in Cloud allows it again."),
    ),
    "fatture_quota_month": Entry(
        _("This month's Fatture in Cloud request quota for your company is used up."),
        _(
            "Nothing to do: the invoices wait and go out by themselves from {date}, oldest first. Part of "
            "the quota is left for your other apps."
        ),
    ),
    "fatture_permission": Entry(
        _("Fatture in Cloud refused the request: the connected user or plan lacks a permission."),
        _(
            "Check that the connected user may issue invoices and manage clients in this company, and that "
            "the plan includes API access, then retry."
        ),
    ),
    "fatture_unavailable": Entry(
        _("Fatture in Cloud could not be reached or did not answer in time."),
        _(
            "Nothing to do: the request is retried automatically. Before any retry we check that no "
            "invoice was already created."
        ),
    ),
    # Fatture in Cloud: e-invoicing (SDI), corrispettivi, webhooks
    "einvoice_not_in_plan": Entry(
        _("Your Fatture in Cloud plan does not include electronic invoices."),
        _("Upgrade the plan in Fatture in Cloud, or turn e-invoicing off in the settings, then retry."),
    ),
    "receipts_not_in_plan": Entry(
        _("Your Fatture in Cloud plan does not include the corrispettivi register."),
        _(
            "Recording corrispettivi needs Fatture in Cloud Premium, Premium Plus or Complete. Upgrade the "
            "plan, or issue invoices to private buyers instead, then retry."
        ),
    ),
    "fatture_scope_missing": Entry(
        _("Fatture in Cloud has not given us the permission this needs yet."),
        _(
            "Reconnect Fatture in Cloud on the Accounting page and approve the new permissions "
            "(credit notes, corrispettivi, VAT types, products), then retry."
        ),
    ),
    "fatture_webhooks_unavailable": Entry(
        _("Fatture in Cloud does not send us instant e-invoice updates for this account."),
        _("Nothing to do: we check the e-invoice status regularly instead."),
    ),
    "einvoice_buyer_incomplete": Entry(
        _("This e-invoice cannot be built: the buyer's tax data is incomplete or invalid."),
        _(
            "Complete the buyer's data named below (codice fiscale, VAT number or recipient code), or "
            "record the sale without an e-invoice, then retry."
        ),
    ),
    "einvoice_xml_invalid": Entry(
        _("Fatture in Cloud's check of the e-invoice found problems."),
        _("Correct what the problems below name (customer, products or VAT types), then press Fix and resend."),
    ),
    "einvoice_rejected": Entry(
        _("The e-invoice was rejected by SDI or by the customer."),
        _(
            "Read the reason below, correct it and press Fix and resend: SDI expects the corrected invoice "
            "within five days."
        ),
    ),
    # Marketplaces
    "marketplace_bad_credentials": Entry(
        _("The store credentials were refused (bad key or invalid signature)."),
        _("Copy the keys again from the marketplace's API settings page, exactly, with no spaces."),
    ),
    "bricklink_ip_mismatch": Entry(
        _("BrickLink refused the token: it is bound to a different IP address (TOKEN_IP_MISMATCHED)."),
        _(
            "BrickLink ties each access token to one IP. On BrickLink → My API Access, register a token for "
            "the IP address of our servers shown on this page (or use 0.0.0.0 to allow any IP), then paste "
            "the new token value and secret here."
        ),
    ),
    "store_connected_elsewhere": Entry(
        _("This store is already connected to another BrickInvoice account."),
        _(
            "A store can be connected to one account only, or its orders would be invoiced twice. Disconnect it "
            "in the other account first (Stores → Disconnect), then connect it here. If you do not know that "
            "account, write to support."
        ),
    ),
    "marketplace_quota": Entry(
        _("The marketplace's daily API quota is used up."),
        _("Nothing to do: the import stops and resumes automatically when the quota resets."),
    ),
    "marketplace_unreachable": Entry(
        _("The marketplace could not be reached."),
        _("Nothing to do if it is temporary: the import retries. If it persists, check the marketplace's status page."),
    ),
    "marketplace_error": Entry(
        _("The marketplace answered with an error."),
        _("Try again later. If it persists, contact support with the time of the error."),
    ),
    "vat_type_missing": Entry(
        _("Your Fatture in Cloud company has no VAT type at {rate} % with natura {natura}."),
        _(
            "This order needs it (the VAT treatment of its buyer and destination). Create it on the Product "
            "mapping page (or in Fatture in Cloud → Impostazioni → Aliquote IVA), then press Retry."
        ),
    ),
    "vat_treatment_unsupported": Entry(
        _("BrickInvoice does not invoice this destination automatically."),
        _("Ask your accountant how to invoice it, then invoice it by hand and mark the order as not invoiced here."),
    ),
    "invoice_date_out_of_order": Entry(
        _("This invoice would be dated {date}, before the newest invoice of its numbering series ({newest})."),
        _(
            "Within a numbering series, numbers must follow dates. Open the order and choose to date the invoice "
            "today (the date of the sale is stated on it), or not to invoice it here."
        ),
    ),
    "vies_unavailable": Entry(
        _("The EU VAT number of this buyer could not be checked: VIES did not answer."),
        _("Nothing to do: the check is tried again in an hour, and the order is invoiced once VIES answers."),
    ),
    "exchange_rate_unknown": Entry(
        _("The ECB exchange rate of this order's date is not known yet."),
        _("Nothing to do: the order is invoiced once the ECB rate is published and read (daily)."),
    ),
    "order_data_held": Entry(
        _("This order's data needs your decision before it is invoiced."),
        _(
            "Open the order: check the problems listed and the amounts BrickInvoice computed, then choose to "
            "invoice it as computed, not to invoice it, or to read it again from the marketplace."
        ),
    ),
    "fatture_server_error": Entry(
        _("Fatture in Cloud had an internal error."),
        _(
            "Nothing to do: the request is retried automatically. Before any retry we check that no "
            "invoice was already created."
        ),
    ),
    "order_data_invalid": Entry(
        _("This order's data from the marketplace is incomplete or malformed."),
        _("Check the order on the marketplace; it is re-read at the next sync. The problem is named below."),
    ),
    "internal_unavailable": Entry(
        _("Our queue and cache service (Redis) was briefly unreachable."),
        _("Nothing to do: invoicing retries by itself, and the order was not invoiced twice."),
    ),
    "internal_error": Entry(
        _("Something went wrong on our side."),
        _("Press Retry. If it happens again, contact support; nothing was lost."),
    ),
    # Credit notes (issue 14)
    "credit_note_exceeds_invoice": Entry(
        _("You asked to credit {amount} of {part}, but only {left} is left to credit on it."),
        _(
            "A credit note can only reverse what the invoice charged and earlier credit notes have not credited yet. "
            "Enter at most what is left; a refund beyond that is not a correction of this invoice."
        ),
    ),
    "credit_note_amount_invalid": Entry(
        _("Enter an amount to credit: more than zero in total, and no negative amount."),
        _("Fill in how much of the goods, shipping and handling was refunded, then send the form again."),
    ),
    "credit_note_full_on_its_way": Entry(
        _("A credit note for the whole invoice is already on its way."),
        _("Nothing to add: it credits everything still left on the invoice. Check the order page once it is issued."),
    ),
    "credit_note_nothing_left": Entry(
        _("Nothing is left to credit on this invoice."),
        _("Nothing to do: earlier credit notes already credit all of it, so no new credit note was made."),
    ),
    "credit_note_split_unknown": Entry(
        _("The marketplace does not say how this refund splits between goods, shipping and handling."),
        _(
            "Check the amounts proposed (the refund shared pro rata over what is left), correct them and confirm; or "
            "credit the whole invoice; or decide that no credit note is needed."
        ),
    ),
    "credit_note_payment_reversed": Entry(
        _("The payment of this invoiced order was returned or bounced."),
        _(
            "If the buyer got the money back, credit the invoice (all of it is proposed). If the payment went "
            "through again, decide that no credit note is needed."
        ),
    ),
    "credit_note_no_lines": Entry(
        _("This invoice was issued before BrickInvoice kept its lines, so its credit note cannot be planned."),
        _("Make the credit note by hand in Fatture in Cloud, then decide here that no credit note is needed."),
    ),
    "credit_note_other_company": Entry(
        _("This invoice was issued in another Fatture in Cloud company (#{company})."),
        _(
            "A credit note belongs in the company of its invoice: select that company on the Accounting page, then "
            "press Retry."
        ),
    ),
    "credit_note_date_before_invoice": Entry(
        _("This credit note would be dated {date}, before the invoice it corrects ({invoice_date})."),
        _("Nothing was sent: SDI refuses such a credit note (00418). Press Retry on or after the invoice's date."),
    ),
    "credit_note_creation_failed": Entry(
        _("Credit Note Creation Failed: Fatture in Cloud refused the credit note."),
        _("Read the reason below, correct what it names (customer, products or settings), then press Retry."),
    ),
    # Marketplace import health (issue 12)
    "marketplace_bad_data": Entry(
        _("The marketplace sent data we could not read."),
        _(
            "Nothing to do if it is temporary: the import is retried with a growing delay. If it persists, contact "
            "support with the time of the error."
        ),
    ),
    "marketplace_import_failed": Entry(
        _("The import stopped on something we did not expect."),
        _(
            "Nothing to do: the import is retried with a growing delay and the orders already read are kept. If it "
            "persists, contact support with the time of the error."
        ),
    ),
    "order_quarantined": Entry(
        _("This order's data could not be read well enough to invoice it, so it is set aside."),
        _(
            "Check the order on the marketplace. It is read again when it changes there, and at least once a day; "
            "a clean read releases it by itself."
        ),
    ),
}


def describe(code: str, **params: object) -> ErrorText:
    """The message and hint for a code, with its parameters filled in."""
    entry = CATALOGUE.get(code, CATALOGUE["internal_error"])
    message, hint = str(entry.message), str(entry.hint)
    try:
        return ErrorText(message.format(**params), hint.format(**params))
    except (KeyError, IndexError):
        return ErrorText(message, hint)


class ServiceError(Exception):
    """A typed failure from a third party or a business rule.

    ``transient``: retrying later may succeed (timeouts, 5xx, quota); otherwise the seller must act.
    ``retry_after``: seconds the provider asked us to wait, when it said so.
    ``detail``: provider's own words (validation messages), never a secret.
    """

    code = "internal_error"
    transient = False
    # False only when our own budget refused to send the request: it never left.
    request_sent = True
    # Set by the issuing flow when the create call's own answer proves nothing was created.
    create_refused = False

    def __init__(
        self,
        detail: str = "",
        *,
        code: str | None = None,
        transient: bool | None = None,
        retry_after: float | None = None,
        status: int | None = None,
        **params: object,
    ) -> None:
        super().__init__(detail or code or self.code)
        if code:
            self.code = code
        if transient is not None:
            self.transient = transient
        self.detail = detail
        self.retry_after = retry_after
        self.status = status
        self.params = params

    @property
    def text(self) -> ErrorText:
        return describe(self.code, **self.params)

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}" if self.detail else self.code


class TransientError(ServiceError):
    """Timeouts, connection failures, 5xx: retry with backoff."""

    code = "internal_error"
    transient = True


class Failure(Protocol):
    """Anything that failed with a catalogue code (ServiceError, invoicing's PlanError)."""

    code: str
    detail: str
    params: dict[str, object]


@dataclass(frozen=True)
class ErrorBox:
    """What a page shows for one failure (templates/partials/error.html): the code, the message in
    plain words, the hint that says what to do, the provider's own words, and optionally where it
    happened (a slot, a field). The one way every view and model builds it."""

    code: str
    message: str
    hint: str
    detail: str = ""
    at: str = ""

    @classmethod
    def of(cls, code: str, detail: str = "", *, at: str = "", **params: object) -> "ErrorBox":
        """The box for a catalogue ``code`` with its parameters filled in."""
        text = describe(code, **params)
        return cls(code=code, message=text.message, hint=text.hint, detail=detail or "", at=at)

    @classmethod
    def from_exception(cls, exc: "Failure") -> "ErrorBox":
        """From a ``ServiceError`` or any failure carrying ``code``, ``detail`` and ``params``."""
        text = describe(exc.code, **exc.params)
        return cls(code=exc.code, message=text.message, hint=text.hint, detail=exc.detail or "")

    @classmethod
    def from_row(cls, row: object, prefix: str) -> "ErrorBox | None":
        """From a model's stored failure columns ``{prefix}code``, ``{prefix}message`` and
        ``{prefix}detail`` (and ``{prefix}hint`` when the row keeps one); None when none is stored."""
        code = getattr(row, f"{prefix}code", "")
        if not code:
            return None
        text = describe(code)
        return cls(
            code=code,
            message=getattr(row, f"{prefix}message", "") or text.message,
            hint=getattr(row, f"{prefix}hint", "") or text.hint,
            detail=getattr(row, f"{prefix}detail", "") or "",
        )
