"""gunicorn settings for the web process: ``gunicorn -c brickinvoice/gunicorn_conf.py brickinvoice.wsgi``.

The Dockerfile (and so docker-compose.yml's web service) starts gunicorn with this file. Its one
job beyond bind and workers is the access log: the OAuth callback's ``code`` and ``state`` and any
credential in a query string or referer are redacted before the line is written.
"""

import os

from gunicorn.glogging import Logger

from brickinvoice.logging import add_filter_to_handlers, install_record_factory, redact

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
accesslog = "-"
logger_class = "brickinvoice.gunicorn_conf.RedactingLogger"


class RedactingLogger(Logger):
    """gunicorn's logger with every text atom of the access log (request line, query string,
    referer, headers) redacted, and the redaction filter on its own handlers."""

    def setup(self, cfg):
        super().setup(cfg)
        install_record_factory()
        add_filter_to_handlers(self.error_log)
        add_filter_to_handlers(self.access_log)

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {name: redact(value) if isinstance(value, str) else value for name, value in atoms.items()}
