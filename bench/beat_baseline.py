"""What the old way of scheduling tenants' syncs costs: one django-celery-beat ``PeriodicTask`` per
tenant, run by a real ``celery beat`` process with the ``DatabaseScheduler`` (the baseline that
issue 17 quotes for the dispatcher of invoicing/schedules.py, bench/schedule_bench.py).

For each size the script fills a throw-away database with that many ``PeriodicTask`` rows
(``invoicing.tasks.sync_tenant`` with args ``[tenant_id, "schedule"]``; schedules drawn from
70 % hourly, 20 % daily, 5 % every 15 minutes, 5 % off (a disabled row), one shared
``IntervalSchedule`` row per interval; ``last_run_at`` (and ``start_time``, the same instant) drawn
uniformly within one interval before the start, so the tasks fall due evenly), then runs
``celery -A brickinvoice beat -S django_celery_beat.schedulers:DatabaseScheduler`` with no worker:
the messages pile up in Redis database 13, counted and flushed at the end. The product's global
``CELERY_BEAT_SCHEDULE`` entries (dispatch-invoices every 10 s, ...) are installed by beat as usual
and run alongside, as they did in the old product.

What is measured, from /proc (CPU time, not wall time: the machine may be shared):

- steady state: the beat process's utime+stime (its children's included) over ``--seconds`` of wall
  time, after ``--warmup`` seconds past its first "Sending due task" line. 300 s covers one of
  django-celery-beat's forced full reloads (every 5 minutes, ``SCHEDULE_SYNC_MAX_INTERVAL``);
- a settings save: ``--saves`` times, one ``PeriodicTask.save()`` (which bumps
  ``PeriodicTasks.last_update`` as the old settings page did); beat's CPU in the ``--window``
  seconds after it, against the ``--window`` seconds just before it, and the time until beat logs
  "DatabaseScheduler: Schedule changed.";
- messages published (all lists in Redis db 13, by task name), the peak RSS (VmHWM), the load
  average.

    .venv/bin/python bench/beat_baseline.py [--tasks 0,1000,10000] [--seconds 300] [--warmup 15] \\
        [--saves 3] [--window 10]

Database ``bench_beat`` (dropped and created, migrated, dropped at the end); Redis
redis://127.0.0.1:6379/13 (flushed before and after each run). Prints a table and writes
bench/results/beat_baseline.json (``--out``); beat's log of each run goes to bench/results/beat_baseline_<N>.log.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._harness import base_env, create_database, database_url, drop_database, migrate, stop_group  # noqa: E402

DB = "bench_beat"
REDIS_URL = "redis://127.0.0.1:6379/13"
CELERY = str(ROOT / ".venv" / "bin" / "celery")
# Not secrets: a throw-away key pair for a throw-away database.
SECRET_KEY = "bench-beat-secret-key-not-used-anywhere-else-0123456789abcdef"
FIELD_KEY = "YmVuY2gtcGlwZWxpbmUtZmllbGQta2V5LTMyLWJ5dGU="
# The same mix as bench/schedule_bench.py; "off" is a disabled row.
MIX = (("hourly", 0.70), ("daily", 0.20), ("15min", 0.05), ("off", 0.05))
INTERVALS = {"hourly": (1, "hours"), "daily": (1, "days"), "15min": (15, "minutes")}
SECONDS = {"hourly": 3600, "daily": 86400, "15min": 900, "off": 3600}
CHUNK = 5000
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def env() -> dict:
    return base_env(
        DATABASE_URL=database_url(DB),
        REDIS_URL=REDIS_URL,
        CELERY_BROKER_URL=REDIS_URL,
        # Production-like: DEBUG off (no query log), so the secrets below are required.
        DEBUG="false",
        SECRET_KEY=SECRET_KEY,
        FIELD_ENCRYPTION_KEYS=FIELD_KEY,
        ALLOWED_HOSTS="127.0.0.1,localhost",
    )


def populate(count: int, rng: random.Random) -> dict:
    """``count`` per-tenant PeriodicTasks (bulk_create), each due at a uniformly drawn instant
    within one interval from now."""
    from django.db import connection
    from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks

    PeriodicTask.objects.filter(task="invoicing.tasks.sync_tenant").delete()
    intervals = {
        name: IntervalSchedule.objects.get_or_create(every=every, period=period)[0]
        for name, (every, period) in INTERVALS.items()
    }
    names = [name for name, _ in MIX]
    weights = [share for _, share in MIX]
    now = datetime.now(UTC)
    mix: dict[str, int] = {}
    started = time.perf_counter()
    for first in range(0, count, CHUNK):
        rows = []
        for tenant_id in range(first + 1, min(count, first + CHUNK) + 1):
            choice = rng.choices(names, weights=weights)[0]
            mix[choice] = mix.get(choice, 0) + 1
            # Due at now + offset: the last run was one interval before that.
            every = SECONDS[choice]
            last_run = now - timedelta(seconds=every - rng.uniform(0, every))
            rows.append(
                PeriodicTask(
                    name=f"sync-tenant-{tenant_id}",
                    task="invoicing.tasks.sync_tenant",
                    interval=intervals["hourly" if choice == "off" else choice],
                    args=json.dumps([tenant_id, "schedule"]),
                    kwargs="{}",
                    start_time=last_run,
                    last_run_at=None if choice == "off" else last_run,
                    enabled=choice != "off",
                )
            )
        PeriodicTask.objects.bulk_create(rows)
    PeriodicTasks.update_changed()  # bulk_create sends no signal; beat reads everything at start anyway
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE django_celery_beat_periodictask")
    return {"mix": mix, "populate_s": round(time.perf_counter() - started, 1)}


# --- /proc ----------------------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()  # fields from "state" (field 3) on


def cpu_seconds(pid: int) -> float:
    """utime+stime of pid, of its live descendants, and of its reaped children (cutime+cstime)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))):
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        fields = _stat(current)
        if fields:
            # utime, stime, cutime, cstime are fields 14-17 (indexes 11-14 here)
            total += sum(int(f) for f in fields[11:15])
        todo.extend(children.get(current, []))
    return total / TICK


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- Redis ----------------------------------------------------------------------------------------


def redis_db():
    import redis

    return redis.Redis.from_url(REDIS_URL)


def queued(r) -> int:
    return sum(r.llen(key) for key in r.scan_iter() if r.type(key) == b"list")


def queued_by_task(r) -> dict[str, int]:
    tasks: dict[str, int] = {}
    for key in r.scan_iter():
        if r.type(key) != b"list":
            continue
        for raw in r.lrange(key, 0, -1):
            name = json.loads(raw).get("headers", {}).get("task", "?")
            tasks[name] = tasks.get(name, 0) + 1
    return tasks


# --- one run --------------------------------------------------------------------------------------


class BeatLog:
    """Follows beat's log file: when the first task was sent, when each reload was logged."""

    def __init__(self, path: Path):
        self.path = path
        self.first_send = threading.Event()
        self.changed: list[float] = []  # monotonic times of "Schedule changed." lines
        self.sends: list[float] = []  # monotonic times of "Sending due task" lines
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def _follow(self):
        while not self.path.exists():
            time.sleep(0.05)
        with open(self.path) as log:
            while not self._stop.is_set():
                line = log.readline()
                if not line:
                    time.sleep(0.02)
                    continue
                if "Sending due task" in line:
                    self.sends.append(time.monotonic())
                    self.first_send.set()
                elif "Schedule changed" in line:
                    self.changed.append(time.monotonic())

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=2)


def sleep_sampling(pid: int, seconds: float, samples: list, t0: float) -> None:
    """Sleep ``seconds``, recording (t, CPU s, 1-min load) about twice a second."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(0.5, left))
        samples.append((round(time.monotonic() - t0, 2), round(cpu_seconds(pid), 3), os.getloadavg()[0]))


def run(count: int, args, rng: random.Random) -> dict:
    from django_celery_beat.models import PeriodicTask

    result = {"tasks": count, **populate(count, rng)}
    r = redis_db()
    r.flushdb()
    log_path = ROOT / "bench" / "results" / f"beat_baseline_{count}.log"
    log_path.unlink(missing_ok=True)
    workdir = ROOT / "var" / "bench-beat"
    workdir.mkdir(parents=True, exist_ok=True)
    command = [
        CELERY,
        "-A",
        "brickinvoice",
        "beat",
        "-S",
        "django_celery_beat.schedulers:DatabaseScheduler",
        "--loglevel",
        "INFO",
        "--logfile",
        str(log_path),
        "--pidfile",
        str(workdir / "beat.pid"),
    ]
    result["command"] = " ".join(command[:9])  # without the log and pid files
    samples: list = []
    loads = [os.getloadavg()]
    t0 = time.monotonic()
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True
    )
    log = BeatLog(log_path)
    try:
        if not log.first_send.wait(timeout=300):
            raise RuntimeError(f"beat sent nothing within 300 s; see {log_path}")
        result["first_send_after_s"] = round(time.monotonic() - t0, 1)
        result["cpu_to_first_send_s"] = round(cpu_seconds(proc.pid), 2)
        sleep_sampling(proc.pid, args.warmup, samples, t0)

        # Steady state.
        cpu0, q0, w0 = cpu_seconds(proc.pid), queued(r), time.monotonic()
        sleep_sampling(proc.pid, args.seconds, samples, t0)
        cpu1, q1, w1 = cpu_seconds(proc.pid), queued(r), time.monotonic()
        loads.append(os.getloadavg())
        minutes = (w1 - w0) / 60
        result.update(
            steady_wall_s=round(w1 - w0, 1),
            steady_cpu_s=round(cpu1 - cpu0, 2),
            cpu_ms_per_minute=round((cpu1 - cpu0) * 1000 / minutes, 1),
            core_pct=round((cpu1 - cpu0) / (w1 - w0) * 100, 2),
            published_per_minute=round((q1 - q0) / minutes, 1),
            cpu_ms_per_published=round((cpu1 - cpu0) * 1000 / (q1 - q0), 2) if q1 > q0 else None,
        )

        # Settings saves: the CPU of the window after each, against the window before it.
        saves = []
        task = PeriodicTask.objects.filter(task="invoicing.tasks.sync_tenant", enabled=True).first()
        for _ in range(args.saves if task else 0):
            before0 = cpu_seconds(proc.pid)
            sleep_sampling(proc.pid, args.window, samples, t0)
            before1 = cpu_seconds(proc.pid)
            seen = len(log.changed)
            saved_at = time.monotonic()
            task.refresh_from_db()  # beat writes last_run_at back every 3 minutes
            task.description = f"settings saved at {datetime.now(UTC).isoformat()}"
            task.save()
            after0 = cpu_seconds(proc.pid)
            sleep_sampling(proc.pid, args.window, samples, t0)
            after1 = cpu_seconds(proc.pid)
            reload_at = log.changed[seen] if len(log.changed) > seen else None
            # Beat logs "Schedule changed." before it reloads; its next send comes after the reload
            # (and after the next due time: an upper bound of the stall).
            next_send = next((t for t in log.sends if reload_at and t > reload_at), None)
            saves.append(
                {
                    "cpu_before_s": round(before1 - before0, 3),
                    "cpu_after_s": round(after1 - after0, 3),
                    "extra_cpu_s": round((after1 - after0) - (before1 - before0), 3),
                    "reload_logged_after_s": round(reload_at - saved_at, 2) if reload_at else None,
                    "next_send_after_reload_s": round(next_send - reload_at, 2) if next_send else None,
                }
            )
        result["saves"] = saves
        if saves:
            result["save_extra_cpu_s_mean"] = round(sum(s["extra_cpu_s"] for s in saves) / len(saves), 3)
        result["peak_rss_mb"] = round(peak_rss_mb(proc.pid), 1)
        result["cpu_total_s"] = round(cpu_seconds(proc.pid), 2)
        result["wall_total_s"] = round(time.monotonic() - t0, 1)
        if proc.poll() is not None:
            raise RuntimeError(f"beat exited with {proc.returncode}; see {log_path}")
    finally:
        stop_group(proc, timeout=20)
        log.stop()
    loads.append(os.getloadavg())
    result["published_total"] = queued(r)
    result["published_by_task"] = queued_by_task(r)
    result["sends_logged"] = len(log.sends)
    result["load_1min_min_max"] = [round(min(s[2] for s in samples), 2), round(max(s[2] for s in samples), 2)]
    result["load_avg_start_end"] = [[round(x, 2) for x in loads[0]], [round(x, 2) for x in loads[-1]]]
    result["samples"] = samples
    r.flushdb()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="0,1000,10000", help="comma-separated PeriodicTask counts")
    parser.add_argument("--seconds", type=float, default=300, help="steady-state window, wall seconds")
    parser.add_argument("--warmup", type=float, default=15, help="seconds after beat's first send")
    parser.add_argument("--saves", type=int, default=3, help="PeriodicTask saves while beat runs")
    parser.add_argument("--window", type=float, default=10, help="seconds measured before and after each save")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--out", default="beat_baseline.json", help="file name under bench/results/")
    args = parser.parse_args()

    os.environ.update(env())
    create_database(DB)
    migrate(env())
    import django

    django.setup()
    import logging

    logging.disable(logging.INFO)
    out = ROOT / "bench" / "results" / args.out
    result: dict = {
        "machine": {"cpus": os.cpu_count(), "load_avg_at_start": [round(x, 2) for x in os.getloadavg()]},
        "args": vars(args),
        "runs": [],
    }
    try:
        for count in (int(n) for n in args.tasks.split(",")):
            outcome = run(count, args, random.Random(args.seed))
            result["runs"].append(outcome)
            out.write_text(json.dumps(result, indent=2))
            _print(outcome)
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(DB)
    print(f"written {out.relative_to(ROOT)}")


def _print(run: dict) -> None:
    saves = ", ".join(
        f"{s['cpu_before_s']:.2f}->{s['cpu_after_s']:.2f} s (reload logged {s['reload_logged_after_s']} s after, "
        f"next send {s['next_send_after_reload_s']} s later)"
        for s in run["saves"]
    )
    print(
        f"{run['tasks']:>7} tasks {run['mix']}: first send after {run['first_send_after_s']} s "
        f"({run['cpu_to_first_send_s']} s CPU); steady {run['steady_wall_s']} s: "
        f"{run['cpu_ms_per_minute']:.1f} CPU ms/min = {run['core_pct']:.2f} % of a core, "
        f"{run['published_per_minute']} msgs/min ({run['cpu_ms_per_published']} ms each); "
        f"peak RSS {run['peak_rss_mb']} MB; saves (CPU in {len(run['saves'])} windows before->after): {saves}; "
        f"published {run['published_total']} {run['published_by_task']}; "
        f"load 1-min {run['load_1min_min_max']}"
    )


if __name__ == "__main__":
    main()
