"""Signals the marketplaces app sends. marketplaces never imports invoicing (docs/architecture.md §3): the
layers above listen here instead.

``store_imported``
    Sent once at the end of every import that ran (claimed the store), whatever its outcome:
    complete, stopped at the BrickLink budget or the time limit, or failed on a store-level error.
    Not sent when nothing ran (the store is disconnected, or another import holds the claim and
    will send its own). Sent after the transaction commits, so receivers see the imported orders;
    a receiver's exception is logged and never undoes the import (``send_robust``).

    Keyword arguments: ``store_id`` (int) and ``result`` (``marketplaces.importrun.ImportResult``:
    ``complete``, ``created_ids``, ``changed_ids``, ``quarantined_ids``, ``error_code``...).
    ``sender`` is ``StoreConnection``.
"""

from django.dispatch import Signal

store_imported = Signal()
