"""A gunicorn config file for the benchmarks' sandbox (``--config``): every Fatture API call is also
written, with its time to the millisecond, to ``$BENCH_CALL_LOG_DIR/calls-<pid>.log`` (gunicorn's
access log has whole seconds, too coarse for a rolling window of a few seconds). The time is taken
when the response is done, a view's duration after the sandbox counted the call."""

import os
import time

_DIR = os.environ.get("BENCH_CALL_LOG_DIR", "")


def post_request(worker, req, environ, resp):
    if _DIR and "/sandbox/fatture/" in req.path:
        with open(os.path.join(_DIR, f"calls-{os.getpid()}.log"), "a") as out:
            out.write(f"{time.time():.3f} {resp.status_code} {req.path}\n")
