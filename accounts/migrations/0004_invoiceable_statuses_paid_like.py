"""Only paid, shipped and completed orders may be invoiced: clean settings that ticked others.

A row left with no status after the clean-up gets the default (paid, shipped, completed): the
seller wanted invoices, and the product invoices paid orders.
"""

import accounts.models
from django.db import migrations, models

PAID_LIKE = ["paid", "shipped", "completed"]


def keep_only_paid_like(apps, schema_editor):
    SellerSettings = apps.get_model("accounts", "SellerSettings")
    for row in SellerSettings.objects.only("id", "invoiceable_statuses").iterator():
        current = row.invoiceable_statuses if isinstance(row.invoiceable_statuses, list) else []
        kept = [s for s in current if s in PAID_LIKE] or list(PAID_LIKE)
        if kept != current:
            SellerSettings.objects.filter(id=row.id).update(invoiceable_statuses=kept)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0003_seller_accounting_package"),
    ]

    operations = [
        migrations.AlterField(
            model_name="sellersettings",
            name="invoiceable_statuses",
            field=models.JSONField(
                default=accounts.models._default_statuses,
                validators=[accounts.models.validate_invoiceable_statuses],
            ),
        ),
        migrations.RunPython(keep_only_paid_like, migrations.RunPython.noop),
    ]
