"""Production settings plus one change for the load benchmarks: collected static files go to a
temporary folder (``BENCH_STATIC_ROOT``), so a benchmark never writes into the work tree."""

import os

from brickinvoice.settings import *  # noqa: F403

STATIC_ROOT = os.environ.get("BENCH_STATIC_ROOT") or STATIC_ROOT  # noqa: F405
