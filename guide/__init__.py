"""The seller's guide: how to set up BrickInvoice and what to do about every error it can show.

The guide is public (no sign-in): it holds no seller data, and a seller reads "Before you start"
and "Pre-registration" before having an account. Its prose lives in one template per section and
language (``templates/guide/it/<slug>.html``, ``templates/guide/en/<slug>.html``), chosen by the
active language, because pages of prose are awkward to keep in ``.po`` files; the chrome around
them (titles, navigation) goes through Django's i18n like every other string. Every error code of
``brickinvoice.errors.CATALOGUE`` has its section on the troubleshooting page, anchored
``#err-<code>`` (``{% guide_error "<code>" %}``); tests/test_guide.py fails when one is missing.
"""
