"""Signals other apps listen to without accounts importing them (dependencies point one way)."""

from django.dispatch import Signal

# Sent with ``settings`` after a seller saves their settings (invoicing re-plans the schedule).
seller_settings_changed = Signal()
# Sent with ``settings`` and ``changed`` (the edited field names) before a seller's settings are
# saved. A receiver may set more fields on ``settings`` and return their names: they are written in
# the same single UPDATE of the row (invoicing draws a new sync phase when the schedule changed).
seller_settings_saving = Signal()
