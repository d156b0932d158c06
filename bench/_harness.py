"""Shared plumbing of the load benchmarks: a throw-away PostgreSQL database, a server subprocess
on loopback, and percentiles. Nothing here talks to anything but 127.0.0.1.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
PG = "postgres://postgres@127.0.0.1:5432"
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")


def database_url(name: str) -> str:
    return f"{PG}/{name}"


def _admin(sql: str) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def create_database(name: str) -> None:
    assert name.startswith("bench_"), name
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    assert name.startswith("bench_"), name
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate(env: dict) -> None:
    subprocess.run([PYTHON, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(env: dict, *, port: int, workers: int = 2, threads: int = 1, log: Path | None = None):
    """Run the project under gunicorn on 127.0.0.1:port; stopped (whole process group) on exit."""
    args = [
        GUNICORN,
        "brickinvoice.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--timeout",
        "120",
        "--log-level",
        "warning",
    ]
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {proc.returncode}; see {log}")
            try:
                requests.get(f"http://127.0.0.1:{port}/", timeout=10)
                break
            except (requests.ConnectionError, requests.Timeout):
                if time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start within 60 s") from None
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_group(proc, timeout=20)
        if log:
            out.close()


def stop_group(proc, timeout: float = 30) -> None:
    """SIGTERM a process started with ``start_new_session`` and its whole group; SIGKILL if slow."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), int(round(pct / 100 * len(ordered) + 0.5))))
    return ordered[rank - 1]


def base_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SANDBOX"))}
    env.update({"DJANGO_SETTINGS_MODULE": "brickinvoice.settings", "PYTHONPATH": str(ROOT)})
    env.update({k: str(v) for k, v in extra.items()})
    return env


def python() -> str:
    return PYTHON if Path(PYTHON).exists() else sys.executable
