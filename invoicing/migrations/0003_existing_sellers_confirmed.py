from django.db import migrations


def confirm_sellers_already_invoicing(apps, schema_editor):
    """Sellers who already invoice with BrickInvoice confirmed their first sync long ago: the new
    first-sync gate (invoicing/dryrun.py) is for new tenants only."""
    from django.utils import timezone

    Invoice = apps.get_model("invoicing", "Invoice")
    SellerSettings = apps.get_model("accounts", "SellerSettings")
    tenants = Invoice.objects.values_list("tenant_id", flat=True).distinct()
    SellerSettings.objects.filter(tenant_id__in=tenants, invoicing_confirmed_at__isnull=True).update(
        invoicing_confirmed_at=timezone.now()
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_seller_tax_profile_and_first_sync"),
        ("invoicing", "0002_dispatcher_and_decisions"),
    ]

    operations = [migrations.RunPython(confirm_sellers_already_invoicing, migrations.RunPython.noop)]
