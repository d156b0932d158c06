"""Re-encrypt every encrypted value under the first key of FIELD_ENCRYPTION_KEYS.

Procedure: put the new key first, keep the old ones after it, deploy, run this command,
then remove the old keys. Values that no key decrypts are reported and the command fails.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from brickinvoice import crypto
from brickinvoice.fields import encrypted_fields


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field under the primary (first) FIELD_ENCRYPTION_KEYS key."

    def handle(self, *args, **options):
        rotated = failed = 0
        for model, field in encrypted_fields():
            # Read the raw column: the field's own decoding is bypassed with values_list on
            # a plain annotation-free query of the column name.
            rows = model._default_manager.exclude(**{f"{field.attname}__isnull": True}).exclude(**{field.attname: ""})
            for pk in rows.values_list("pk", flat=True).iterator():
                with transaction.atomic():
                    raw = _raw_value(model, field, pk)
                    if raw is None:
                        continue
                    try:
                        new = crypto.rotate(raw)
                    except crypto.DecryptionError:
                        failed += 1
                        self.stderr.write(f"{model._meta.label}.{field.name} pk={pk}: cannot be decrypted")
                        continue
                    _write_raw_value(model, field, pk, new)
                    rotated += 1
        self.stdout.write(f"Re-encrypted {rotated} value(s); {failed} failure(s).")
        if failed:
            raise CommandError(f"{failed} value(s) could not be decrypted with any configured key.")


def _raw_value(model, field, pk):
    from django.db import connection

    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(field.column)
    pk_column = connection.ops.quote_name(model._meta.pk.column)
    lock = " FOR UPDATE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE {pk_column} = %s{lock}", [pk])  # noqa: S608
        row = cursor.fetchone()
    return row[0] if row and row[0] else None


def _write_raw_value(model, field, pk, value):
    from django.db import connection

    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(field.column)
    pk_column = connection.ops.quote_name(model._meta.pk.column)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = %s WHERE {pk_column} = %s", [value, pk])  # noqa: S608
