"""Typed marketplace errors (codes from brickinvoice.errors.CATALOGUE), shared by both clients.

Permanent errors (bad credentials, IP binding) need the seller to act: the store is marked as
needing attention. Transient ones (unreachable, quota) are retried or resumed later.
"""

from brickinvoice.errors import ServiceError, TransientError


class MarketplaceError(ServiceError):
    """The marketplace answered with an error we cannot fix by retrying."""

    code = "marketplace_error"
    transient = False


class BadCredentials(MarketplaceError):
    code = "marketplace_bad_credentials"


class IpMismatch(BadCredentials):
    """BrickLink's TOKEN_IP_MISMATCHED: the access token is bound to another IP address."""

    code = "bricklink_ip_mismatch"


class StoreConnectedElsewhere(MarketplaceError):
    """The same marketplace account is connected (not disconnected) in another tenant. The error
    never says which one: that would tell a stranger who sells what."""

    code = "store_connected_elsewhere"


class NotFound(MarketplaceError):
    """One resource (an order) does not exist (any more): skip it, keep going."""


class QuotaExceeded(MarketplaceError, TransientError):
    code = "marketplace_quota"
    transient = True


class Unreachable(MarketplaceError, TransientError):
    """Timeout, connection failure, 5xx or a non-JSON gateway page."""

    code = "marketplace_unreachable"
    transient = True


class Unreadable(MarketplaceError, TransientError):
    """The marketplace answered, but with data we cannot read at all (an order list that is not a
    list, an answer without its envelope). Retried with backoff: it is usually a glitch on their
    side, and the store shows the error meanwhile."""

    code = "marketplace_bad_data"
    transient = True


class ImportFailed(TransientError):
    """An import stopped on an exception nobody foresaw (logged with its traceback). Transient:
    retried with backoff, and shown on the store meanwhile."""

    code = "marketplace_import_failed"
