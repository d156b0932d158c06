from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("invoicing", "0010_client_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="ScheduleCursor",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("dispatched_until", models.DateTimeField(verbose_name="scheduled syncs started up to")),
            ],
            options={
                "verbose_name": "schedule cursor",
            },
        ),
    ]
