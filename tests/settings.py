"""Settings for the test suite: the product's own, plus the sandbox app (the fake BrickLink,
BrickOwl and Fatture in Cloud), whose tables and views the end-to-end tests use. Production
installs never have it (brickinvoice/settings.py adds it only with SANDBOX on)."""

from brickinvoice.settings import *  # noqa: F403
from brickinvoice.settings import INSTALLED_APPS

if "sandbox" not in INSTALLED_APPS:
    INSTALLED_APPS = [*INSTALLED_APPS, "sandbox"]

# The product speaks Italian first (LANGUAGE_CODE "it"); the suite's assertions read the English
# source texts, so tests run in English unless they ask for Italian. tests/test_i18n.py and the
# browser journey check the Italian pages, formats and catalogue.
LANGUAGE_CODE = "en"
