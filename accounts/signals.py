"""Signals other apps listen to without accounts importing them (dependencies point one way)."""

from django.dispatch import Signal

# Sent with ``settings`` after a seller saves their settings (invoicing re-plans the schedule).
seller_settings_changed = Signal()
