"""No secret in any log: library DEBUG logs in the Celery worker, runserver's and gunicorn's access logs."""

import contextlib
import datetime
import io
import logging
import time
from types import SimpleNamespace

import pytest
from django.conf import settings

from brickinvoice.celery import app as celery_app
from brickinvoice.logging import RedactSecretsFilter, redact

BRICKOWL_KEY = "bo-live-0123456789abcdef"
BEARER = "eyJhbGciOiJIUzI1NiJ9.payload.signature"
OAUTH_SIGNATURE = "tR3%2BTy81lMeYAr%2FFid0kMTYa%2FWM%3D"
FERNET_TOKEN = "gAAAAABnPZ3x0aW1lc3RhbXBfaXZfY2lwaGVydGV4dF9obWFj"
CALLBACK = "/home/accounting/callback?code=c0de-from-fatture&state=st4te-value"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"GET https://api.brickowl.com/v1/order/list?key={BRICKOWL_KEY}&status=1", BRICKOWL_KEY),
        (f"{{'Authorization': 'Bearer {BEARER}'}}", BEARER),
        (f'Authorization: OAuth oauth_consumer_key="ck-123456", oauth_signature="{OAUTH_SIGNATURE}"', OAUTH_SIGNATURE),
        (f'Authorization: OAuth oauth_consumer_key="ck-123456", oauth_token="{BEARER}"', BEARER),
        (f"grant_type=refresh_token&refresh_token={BEARER}&client_id=x", BEARER),
        (f"client_secret={BEARER}", BEARER),
        (f"?access_token={BEARER}", BEARER),
        (f"api_key={BRICKOWL_KEY}", BRICKOWL_KEY),
        (f"GET {CALLBACK} HTTP/1.1", "c0de-from-fatture"),
        (f"GET {CALLBACK} HTTP/1.1", "st4te-value"),
        (
            "stored fernet1:gAAAAABnPZ3x0aW1lc3RhbXBfaXZfY2lwaGVydGV4dF9obWFj==",
            "gAAAAABnPZ3x0aW1lc3RhbXBfaXZfY2lwaGVydGV4dF9obWFj",
        ),
        (f'{{"consumer_secret": "{BRICKOWL_KEY}"}}', BRICKOWL_KEY),
    ],
)
def test_redact_removes_credentials(text, secret):
    assert secret not in redact(text)


def test_redact_removes_configured_secret_values(settings):
    settings.FATTURE_CLIENT_SECRET = "fatture-app-secret-value"
    assert "fatture-app-secret-value" not in redact("token request failed for fatture-app-secret-value")
    assert settings.FIELD_ENCRYPTION_KEYS[0] not in redact(f"keys: {settings.FIELD_ENCRYPTION_KEYS[0]}")


def test_redact_keeps_ordinary_words_readable():
    text = "invoice 12 state=running status_code=200 postcode=20100 error code: 401"
    assert redact(text) == text


def _log_library_secrets():
    """What urllib3 and requests-oauthlib write at DEBUG during a BrickOwl or BrickLink call, and a
    task logger's traceback carrying a URL with the key (LOG_LEVEL=DEBUG in production)."""
    from celery.utils.log import get_task_logger

    libraries = [logging.getLogger(name) for name in ("urllib3", "requests_oauthlib")]
    previous = [lib.level for lib in libraries]
    for lib in libraries:
        lib.setLevel(logging.DEBUG)
    try:
        logging.getLogger("urllib3.connectionpool").debug(
            '%s://%s:%s "%s %s %s" %s %s',
            "https",
            "api.brickowl.com",
            443,
            "GET",
            f"/v1/order/list?key={BRICKOWL_KEY}",
            "HTTP/1.1",
            200,
            None,
        )
        logging.getLogger("requests_oauthlib.oauth1_auth").debug(
            "Updated headers: %s", {"Authorization": f"Bearer {BEARER}"}
        )
    finally:
        for lib, level in zip(libraries, previous, strict=True):
            lib.setLevel(level)
    try:
        raise ValueError("401 Client Error for url: https://api.brickowl.com/v1/order/list?key=" + BRICKOWL_KEY)
    except ValueError:
        get_task_logger("marketplaces.tasks").exception("Import failed")


@contextlib.contextmanager
def _logging_restored():
    """Celery's logging setup rewires the root logger; put it back for the rest of the suite."""
    root = logging.getLogger()
    saved = {name: list(logging.getLogger(name).handlers) for name in ("", "celery", "celery.task")}
    level, factory = root.level, logging.getLogRecordFactory()
    try:
        yield
    finally:
        for name, handlers in saved.items():
            logging.getLogger(name).handlers = handlers
        root.setLevel(level)
        logging.setLogRecordFactory(factory)
        type(celery_app.log)._setup = False
        logging.captureWarnings(False)


def test_worker_logging_setup_redacts_every_handler_it_installs():
    output = io.StringIO()
    with _logging_restored():
        # Exactly what `celery worker` does at start-up, with the worker's hijack of the root logger.
        logging.setLogRecordFactory(logging.LogRecord)  # as in a process where Django set nothing up
        type(celery_app.log)._setup = False
        celery_app.log.setup(loglevel="DEBUG", logfile=output)
        assert all(any(isinstance(f, RedactSecretsFilter) for f in h.filters) for h in logging.getLogger().handlers)
        _log_library_secrets()
    logged = output.getvalue()
    assert "api.brickowl.com" in logged and "Import failed" in logged
    assert BRICKOWL_KEY not in logged and BEARER not in logged


def test_redaction_filter_alone_covers_messages_and_tracebacks():
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.addFilter(RedactSecretsFilter())
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    try:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "GET %s", (f"/x?key={BRICKOWL_KEY}",), None)
        handler.handle(record)  # made without the record factory, as logging.makeLogRecord does
        try:
            raise ValueError(f"Authorization: Bearer {BEARER}")
        except ValueError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    assert "GET /x?key=[redacted]" in output.getvalue()
    assert BRICKOWL_KEY not in output.getvalue() and BEARER not in output.getvalue()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_redacts_library_debug_logs(capsys):
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("needs REDIS_URL (make test sets it)")
    from celery.contrib.testing.worker import start_worker

    output, stderr = io.StringIO(), []
    celery_app.conf.task_always_eager = False
    with _logging_restored():
        with celery_app.connection_for_write() as conn, contextlib.suppress(Exception):
            conn.default_channel.queue_purge("default")
        with start_worker(
            celery_app,
            pool="threads",
            concurrency=1,
            perform_ping_check=False,
            queues=["default"],
            loglevel="DEBUG",
            logfile=output,
            shutdown_timeout=10,
        ):
            log_library_secrets.delay()
            deadline = time.monotonic() + 20
            while "succeeded" not in output.getvalue() + "".join(stderr) and time.monotonic() < deadline:
                stderr.append(capsys.readouterr().err)
                time.sleep(0.1)
    celery_app.conf.task_always_eager = True
    # Django's LOGGING may take the root logger back when the worker sets Django up (stderr);
    # the task logger keeps the handler Celery gave it (the log file).
    logged = output.getvalue() + "".join(stderr) + capsys.readouterr().err
    assert "Import failed" in logged and "api.brickowl.com" in logged
    assert BRICKOWL_KEY not in logged and BEARER not in logged


@celery_app.task(name="tests.security.log_library_secrets")
def log_library_secrets():
    _log_library_secrets()


def test_runserver_access_log_hides_oauth_code_and_state():
    configured = logging.getLogger("django.server").handlers[0]
    output = io.StringIO()
    handler = logging.StreamHandler(output)  # the configured handler's filters and format, on a buffer
    handler.setFormatter(configured.formatter)
    for log_filter in configured.filters:
        handler.addFilter(log_filter)
    # The record runserver's WSGIRequestHandler.log_message makes, built without the record factory.
    record = logging.LogRecord(
        "django.server", logging.INFO, __file__, 1, '"%s" %s %s', (f"GET {CALLBACK} HTTP/1.1", "302", "0"), None
    )
    record.server_time, record.status_code = "01/Dec/2026 10:00:00", 302
    handler.handle(record)
    line = output.getvalue()
    assert "/home/accounting/callback?code=[redacted]&state=[redacted]" in line
    assert "c0de-from-fatture" not in line and "st4te-value" not in line


def test_gunicorn_access_log_hides_oauth_code_and_state(tmp_path):
    from gunicorn.config import Config

    from brickinvoice import gunicorn_conf

    cfg = Config()
    for name in ("bind", "workers", "accesslog", "logger_class"):
        cfg.set(name, getattr(gunicorn_conf, name))
    cfg.set("accesslog", str(tmp_path / "access.log"))
    logger = cfg.logger_class(cfg)
    path, query = CALLBACK.split("?")
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": CALLBACK,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.1",
        "HTTP_REFERER": f"https://app.example{CALLBACK}",
    }
    response = SimpleNamespace(status="302 Found", sent=0, headers=[])
    logger.access(response, SimpleNamespace(headers=[]), environ, datetime.timedelta(seconds=0.01))
    for handler in logger.access_log.handlers:
        handler.flush()
    line = (tmp_path / "access.log").read_text()
    assert "GET /home/accounting/callback?code=[redacted]&state=[redacted] HTTP/1.1" in line
    assert "c0de-from-fatture" not in line and "st4te-value" not in line
