"""Where the company's catalogue (products, VAT types) is cached in the shared cache, so the
connection can forget it on disconnect and the catalogue can read and refresh it."""

from django.core.cache import cache

# Products and VAT types change rarely and each read costs quota
# (docs/providers/fatture-in-cloud.md §10.3).
CATALOGUE_CACHE_SECONDS = 600


def products_key(company_id: int) -> str:
    return f"fatture:products:{company_id}"


def vat_types_key(company_id: int) -> str:
    return f"fatture:vat-types:{company_id}"


def catalogue_cache_clear(*, company_id: int) -> None:
    cache.delete_many([products_key(company_id), vat_types_key(company_id)])


# How long a refused invoice's explanation (a deleted product) is trusted before the catalogue is
# read again; a mapping save or "Refresh products" forgets it at once (fatture/backend.py).
REFUSAL_MEMORY = 600


def refusal_reread_key(company_id: int) -> str:
    return f"fatture:refusal-reread:{company_id}"


def missing_products_key(company_id: int) -> str:
    return f"fatture:missing-products:{company_id}"


def refusals_forget(*, company_id: int) -> None:
    cache.delete_many([refusal_reread_key(company_id), missing_products_key(company_id)])
