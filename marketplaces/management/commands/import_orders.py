"""Import orders now, from the shell: one store (by public id) or every store of a tenant."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from marketplaces.models import StoreConnection
from marketplaces.services import store_import_orders
from marketplaces.tasks import import_store


class Command(BaseCommand):
    help = "Import orders of one store (--store PUBLIC_ID) or of every connected store of a tenant (--tenant ID)."

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--store", help="Public id (UUID) of the store.")
        target.add_argument("--tenant", help="Public id (UUID) of the tenant: all its connected stores.")
        parser.add_argument("--queue", action="store_true", help="Queue Celery tasks instead of running here.")

    def handle(self, *args, store=None, tenant=None, queue=False, **options):
        try:
            if store:
                stores = StoreConnection.objects.filter(public_id=store)
            else:
                stores = StoreConnection.objects.filter(tenant__public_id=tenant).exclude(
                    status=StoreConnection.Status.DISCONNECTED
                )
            stores = list(stores.order_by("id"))
        except (ValidationError, ValueError) as exc:  # a malformed UUID
            raise CommandError(f"Not a valid public id: {exc}") from exc
        if not stores:
            raise CommandError("No matching store.")
        for target in stores:
            if queue:
                import_store.delay(target.id)
                self.stdout.write(f"{target.public_id}: queued")
                continue
            result = store_import_orders(store_id=target.id)
            self.stdout.write(
                f"{target.public_id} ({target.get_marketplace_display()}): {result.orders_created} new, "
                f"{result.orders_updated} changed, {result.unchanged} unchanged, "
                f"{len(result.flagged_ids)} with data problems ({len(result.quarantined_ids)} set aside), "
                f"{result.api_calls} API calls" + (f" — {result.stopped_reason}" if result.stopped_reason else "")
            )
