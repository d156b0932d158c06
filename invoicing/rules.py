"""The seller's invoicing rules, read once from their settings into the plan's pure type."""

from accounts.models import Tenant
from accounts.services import settings_for

from .plan import SellerRules


def seller_rules_for(tenant: Tenant) -> SellerRules:
    s = settings_for(tenant)
    return SellerRules(
        country=str(s.country),
        margin_rule=s.margin_rule,
        invoiceable_statuses=tuple(s.invoiceable_statuses),
        cutoff_date=s.cutoff_date,
        invoice_date_policy=s.invoice_date_policy,
        line_texts=s.line_templates(),
    )
