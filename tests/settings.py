"""Settings for the test suite: the product's own, plus the sandbox app (the fake BrickLink,
BrickOwl and Fatture in Cloud), whose tables and views the end-to-end tests use. Production
installs never have it (brickinvoice/settings.py adds it only with SANDBOX on)."""

from brickinvoice.settings import *  # noqa: F403
from brickinvoice.settings import INSTALLED_APPS

if "sandbox" not in INSTALLED_APPS:
    INSTALLED_APPS = [*INSTALLED_APPS, "sandbox"]
