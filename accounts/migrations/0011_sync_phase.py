import accounts.models
import random

from django.db import migrations, models

INTERVALS = {"15min": 900, "hourly": 3600, "daily": 86400}


def phases_from_next_sync(apps, schema_editor):
    """Each tenant keeps its place: the phase is where its planned next sync fell within the
    interval (intervals counted from the Unix epoch); a tenant without one gets a random place."""
    SellerSettings = apps.get_model("accounts", "SellerSettings")
    batch = []
    for row in SellerSettings.objects.only("id", "sync_schedule", "next_sync_at").iterator(chunk_size=2000):
        seconds = INTERVALS.get(row.sync_schedule, 900)
        if row.next_sync_at is not None:
            row.sync_phase = int(row.next_sync_at.timestamp()) % seconds
        else:
            row.sync_phase = random.randrange(seconds)
        batch.append(row)
        if len(batch) == 2000:
            SellerSettings.objects.bulk_update(batch, ["sync_phase"])
            batch = []
    SellerSettings.objects.bulk_update(batch, ["sync_phase"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0010_invoice_line_templates"),
    ]

    operations = [
        migrations.AddField(
            model_name="sellersettings",
            name="sync_phase",
            field=models.PositiveIntegerField(default=accounts.models._default_sync_phase),
        ),
        migrations.RunPython(phases_from_next_sync, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="sellersettings",
            name="next_sync_at",
        ),
        migrations.AddIndex(
            model_name="sellersettings",
            index=models.Index(
                condition=models.Q(("sync_schedule", "off"), _negated=True),
                fields=["sync_schedule", "sync_phase"],
                include=("tenant",),
                name="sellersettings_sync_due",
            ),
        ),
        migrations.AddConstraint(
            model_name="sellersettings",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("sync_phase__lt", 86400),
                    models.Q(
                        models.Q(("sync_schedule", "15min"), _negated=True), ("sync_phase__lt", 900), _connector="OR"
                    ),
                    models.Q(
                        models.Q(("sync_schedule", "hourly"), _negated=True), ("sync_phase__lt", 3600), _connector="OR"
                    ),
                    models.Q(
                        models.Q(("sync_schedule", "daily"), _negated=True), ("sync_phase__lt", 86400), _connector="OR"
                    ),
                ),
                name="sellersettings_sync_phase_in_interval",
            ),
        ),
    ]
