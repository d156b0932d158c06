"""Accounting packages a seller can connect (the package dropdown on /home/accounting/connect).

A second package is a new entry here plus a module implementing fatture.backend.AccountingBackend,
not a rewrite (design §3).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class BackendInfo:
    key: str
    label: str
    connect_url_name: str  # POST here to start connecting


BACKENDS: dict[str, BackendInfo] = {
    "fatture_in_cloud": BackendInfo("fatture_in_cloud", "Fatture in Cloud", "fatture:start"),
}
DEFAULT_BACKEND = "fatture_in_cloud"


def backend_choices() -> list[tuple[str, str]]:
    return [(info.key, info.label) for info in BACKENDS.values()]
