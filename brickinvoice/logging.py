"""Secret redaction for every log record of every process (web, worker, beat, commands, gunicorn).

The clients never log secrets on purpose (they log method, path, status and duration); this
catches the accident: a library at DEBUG logging a full URL with ``key=`` (urllib3), headers with a
bearer token or an OAuth 1 signature (requests-oauthlib), an OAuth callback's ``code``/``state``
in an access log, a Fernet token, or one of our own configured secrets.

Two layers, because a handler filter only sees the handlers it was put on and Celery, gunicorn
and runserver each install handlers of their own:

- ``install_record_factory`` wraps the log-record factory, so every record is redacted when it is
  created, whichever logger, handler or process emits it. ``configure`` (Django's LOGGING_CONFIG)
  installs it in every process that sets Django up; brickinvoice.celery installs it again when
  Celery sets its logging up.
- ``RedactSecretsFilter`` on handlers (LOGGING's, and each one Celery installs) also redacts a
  record made by ``logging.makeLogRecord`` and the traceback text of ``exc_info``.
"""

import logging
import logging.config
import re
from collections.abc import Callable
from typing import Any

REDACTED = "[redacted]"

# Query, form, JSON, repr and OAuth-header parameters whose value is a credential. The name must
# not be the tail of a longer word, so "status_code=200" or "postcode: 20100" stay readable.
_SECRET_PARAMS = (
    "access_token|refresh_token|id_token|client_secret|api_key|apikey|key|token|token_value|token_secret|"
    "consumer_key|consumer_secret|oauth_signature|oauth_token|oauth_token_secret|oauth_consumer_key|"
    "oauth_verifier|password|passwd|secret|signature|x-api-key"
)
# OAuth 2 callback and token parameters: only in a query string or form body, where they are
# credentials; "state=running" in a sentence is not.
_CALLBACK_PARAMS = "code|state"
_PATTERNS = [
    # Authorization: Bearer/Basic <credential>, in a header line, a dict repr or free text.
    (re.compile(r"(?i)\b((?:bearer|basic)\s+)[A-Za-z0-9\-._~+/=%]{6,}"), r"\1" + REDACTED),
    # An Authorization value without a scheme we know (an OAuth 1 header is handled per parameter).
    (
        re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(?!(?:bearer|basic|oauth)\b|\[redacted)[^\s\"',}]+"),
        r"\1" + REDACTED,
    ),
    (
        re.compile(rf"(?i)(?<![A-Za-z0-9_\-])((?:{_SECRET_PARAMS})[\"']?\s*[=:]\s*[\"']?)(?!\[redacted)[^&\s\"',}}]+"),
        r"\1" + REDACTED,
    ),
    (re.compile(rf"(?i)((?:^|(?<=[?&]))(?:{_CALLBACK_PARAMS})=)(?!\[redacted)[^&\s\"'#]+"), r"\1" + REDACTED),
    # Fernet tokens (version byte 0x80 makes them start with gAAAAA), with or without our marker.
    (re.compile(r"gAAAAA[A-Za-z0-9_\-]{20,}=*"), REDACTED),
]
_MIN_KNOWN_SECRET_LENGTH = 8


def _known_secrets() -> list[str]:
    """The secret values configured for this process, when Django's settings are loaded."""
    from django.conf import settings

    if not settings.configured:
        return []
    values = [
        getattr(settings, "SECRET_KEY", ""),
        getattr(settings, "FATTURE_CLIENT_SECRET", ""),
        getattr(settings, "EMAIL_HOST_PASSWORD", ""),
        *getattr(settings, "FIELD_ENCRYPTION_KEYS", []),
    ]
    return [v for v in values if isinstance(v, str) and len(v) >= _MIN_KNOWN_SECRET_LENGTH]


def redact(text: str) -> str:
    """``text`` with every credential-looking value replaced by ``[redacted]``."""
    for secret in _known_secrets():
        text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_message(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a broken record must still be logged
        return
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None


def _redact_exception(record: logging.LogRecord) -> None:
    """Format the traceback now, redacted; formatters reuse ``exc_text`` instead of re-formatting."""
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    _redact_message(record)
    _redact_exception(record)
    return record


class RedactSecretsFilter(logging.Filter):
    """Handler filter: redacts the record in place and always lets it through."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


class _RedactingRecordFactory:
    """Wraps the log-record factory in force: every record is redacted as it is made."""

    def __init__(self, wrapped: Callable[..., logging.LogRecord]) -> None:
        self.wrapped = wrapped

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(self.wrapped(*args, **kwargs))


def install_record_factory() -> None:
    """Redact every record at creation, in this process, whatever logs it (idempotent)."""
    current = logging.getLogRecordFactory()
    if not isinstance(current, _RedactingRecordFactory):
        logging.setLogRecordFactory(_RedactingRecordFactory(current))


def add_filter_to_handlers(logger: logging.Logger) -> None:
    """Put the redaction filter on each of ``logger``'s handlers that lacks one (Celery's, gunicorn's)."""
    for handler in logger.handlers:
        if not any(isinstance(f, RedactSecretsFilter) for f in handler.filters):
            handler.addFilter(RedactSecretsFilter())


def configure(logging_settings: dict) -> None:
    """Django's LOGGING_CONFIG: the usual dictConfig plus redaction of every record in this process."""
    install_record_factory()
    if logging_settings:
        logging.config.dictConfig(logging_settings)
