"""Trigram (pg_trgm) GIN indexes for the orders search, on PostgreSQL only.

The orders page searches with ``icontains``, which PostgreSQL runs as
``UPPER(col::text) LIKE UPPER('%q%')``: a B-tree cannot serve a leading wildcard, so without these
every search scanned all of the tenant's orders (docs/benchmarks.md, "Orders dashboard under
load"). A GIN index on ``UPPER(col) gin_trgm_ops`` matches that expression, and the planner ORs
the three columns' bitmap index scans.

Neither the extension nor the indexes are in ``Order.Meta.indexes`` on purpose: SQLite (the
embedded default) has no GIN, and its table rebuilds re-create every ``Meta.indexes`` entry, so a
``GinIndex`` there would break this and any later ``Order`` migration on SQLite. Here both
steps are no-ops outside PostgreSQL; ``pg_trgm`` is a trusted extension since PostgreSQL 13, so
the database owner can create it without superuser rights.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

# The columns ``marketplaces.selectors.order_list`` searches with ``icontains``. Raw SQL, not
# ``GinIndex(OpClass(Upper(...)))``: ``OpClass`` only renders correctly in an index when
# ``django.contrib.postgres`` is an installed app, and it is not (nothing else needs it).
TRIGRAM_INDEXES = {
    "order_buyer_username_trgm": "buyer_username",
    "order_buyer_name_trgm": "buyer_name",
    "order_ship_name_trgm": "ship_name",
}


class CreateTrigramExtension(TrigramExtension):
    """``CREATE EXTENSION pg_trgm``; Django skips it outside PostgreSQL going forwards but not
    backwards (it would query ``pg_extension`` on SQLite), so the reverse is gated here too."""

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def add_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("marketplaces", "Order")._meta.db_table)
    for name, column in TRIGRAM_INDEXES.items():
        # The same expression Django's icontains compiles to: UPPER("col"::text) LIKE UPPER(%s).
        # CONCURRENTLY: a live database keeps taking orders while the indexes build (hence
        # ``atomic = False``). A failed concurrent build leaves an INVALID index: drop it and migrate again.
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {schema_editor.quote_name(name)} ON {table} "
            f"USING gin (UPPER({schema_editor.quote_name(column)}) gin_trgm_ops)"
        )


def remove_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("marketplaces", "0002_orders_page_indexes"),
    ]

    operations = [
        CreateTrigramExtension(),
        migrations.RunPython(add_trigram_indexes, remove_trigram_indexes),
    ]
