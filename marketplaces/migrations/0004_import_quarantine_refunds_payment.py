"""Issue 12: quarantined orders, per-order fetch failures on the store, refund and payment data.

``ever_paid`` is filled for the orders already imported from what they show now (a paid, shipped
or completed status, or a payment date), so an order paid before this migration and changed
later (BrickLink's item-removal request) is still recognised as "was paid".
"""

from django.db import migrations, models
from django.db.models import Q

PAID = ["paid", "shipped", "completed"]


def fill_ever_paid(apps, schema_editor):
    Order = apps.get_model("marketplaces", "Order")
    Order.objects.filter(Q(status__in=PAID) | Q(paid_at__isnull=False)).update(ever_paid=True)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_preregistration'),
        ('marketplaces', '0003_order_trigram_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='order',
            name='ever_paid',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='order',
            name='payment_method',
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.AddField(
            model_name='order',
            name='payment_status',
            field=models.CharField(blank=True, max_length=30),
        ),
        migrations.AddField(
            model_name='order',
            name='quarantined',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='order',
            name='refund_adjustment',
            field=models.DecimalField(decimal_places=4, default=0, max_digits=14),
        ),
        migrations.AddField(
            model_name='order',
            name='refund_note',
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name='order',
            name='refund_shipping',
            field=models.DecimalField(decimal_places=4, default=0, max_digits=14),
        ),
        migrations.AddField(
            model_name='order',
            name='refund_subtotal',
            field=models.DecimalField(decimal_places=4, default=0, max_digits=14),
        ),
        migrations.AddField(
            model_name='order',
            name='refund_total',
            field=models.DecimalField(decimal_places=4, default=0, max_digits=14),
        ),
        migrations.AddField(
            model_name='order',
            name='reread_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='orderitem',
            name='refunded_quantity',
            field=models.PositiveIntegerField(default=0, help_text='BrickOwl only: lots refunded.'),
        ),
        migrations.AddField(
            model_name='storeconnection',
            name='order_failures',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddIndex(
            model_name='order',
            index=models.Index(condition=models.Q(('quarantined', True), models.Q(('data_errors', []), _negated=True), _connector='OR'), fields=['store', 'reread_at'], name='order_attention_idx'),
        ),
        migrations.RunPython(fill_ever_paid, migrations.RunPython.noop),
    ]
