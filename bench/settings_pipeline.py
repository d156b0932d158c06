"""Production settings plus a probe for the pipeline and fault benchmarks: every Celery task writes
one JSON line (task, arguments, SQL statements, CPU and wall milliseconds) to
``$BENCH_PROBE_DIR/<pid>.jsonl``. The product's code is not touched; only this settings module
connects the probe, and only the benchmarks use it."""

import json
import os
import time

from celery import signals

from brickinvoice.settings import *  # noqa: F403

# The length of Fatture's quota hour, shortened together with the sandbox's own (bench/_pipeline.py)
# to speed the clock. Benchmark-only: the product always uses the real hour.
FATTURE_HOUR_SECONDS = int(os.environ.get("FATTURE_HOUR_SECONDS", "3600"))
# The quota month on the same clock (0: the calendar month).
FATTURE_MONTH_SECONDS = int(os.environ.get("FATTURE_MONTH_SECONDS", "0"))

_PROBE_DIR = os.environ.get("BENCH_PROBE_DIR", "")
_running: dict = {}


def _count(execute, sql, params, many, context):
    _running["sql"] = _running.get("sql", 0) + 1
    return execute(sql, params, many, context)


@signals.task_prerun.connect
def _probe_start(task_id=None, task=None, args=None, **kwargs):
    from django.db import connection

    _running.clear()
    _running.update(sql=0, cpu=time.process_time(), wall=time.perf_counter())
    if _count not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count)


@signals.task_postrun.connect
def _probe_end(task_id=None, task=None, args=None, state=None, **kwargs):
    if not _PROBE_DIR or "cpu" not in _running:
        return
    row = {
        "task": task.name,
        "args": list(args or []),
        "state": state,
        "sql": _running.get("sql", 0),
        "cpu_ms": round((time.process_time() - _running["cpu"]) * 1000, 3),
        "wall_ms": round((time.perf_counter() - _running["wall"]) * 1000, 3),
        "t": time.time(),
    }
    with open(os.path.join(_PROBE_DIR, f"{os.getpid()}.jsonl"), "a") as out:
        out.write(json.dumps(row) + "\n")


# BENCH_TRACEMALLOC=1: every 300 tasks, a pool process writes where its memory grew since its
# 50th task (the top allocation sites) to $BENCH_PROBE_DIR/<pid>.memory.txt.
if os.environ.get("BENCH_TRACEMALLOC"):
    import tracemalloc

    _tasks = {"n": 0, "base": None}

    @signals.task_postrun.connect
    def _memory(**kwargs):
        _tasks["n"] += 1
        if _tasks["n"] == 50:
            tracemalloc.start(12)
            _tasks["base"] = tracemalloc.take_snapshot()
        elif _tasks["n"] % 300 == 50 and _tasks["base"] is not None:
            stats = tracemalloc.take_snapshot().compare_to(_tasks["base"], "traceback")
            with open(os.path.join(_PROBE_DIR, f"{os.getpid()}.memory.txt"), "a") as out:
                out.write(f"--- after {_tasks['n']} tasks\n")
                for stat in stats[:8]:
                    out.write(f"{stat}\n")
                    out.write("\n".join(stat.traceback.format()[-12:]) + "\n")
