"""Login rate limits see the client behind our proxy, and never trust a header the client wrote."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent

PROXY_IP = "10.0.0.2"


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


FAILED_LOGINS_PER_IP = 10  # ACCOUNT_RATE_LIMITS["login_failed"]


def _fail_login(client, attempt, forwarded_for):
    # A different e-mail each time: only the per-IP limit is in play, not the per-account one.
    return client.post(
        reverse("account_login"),
        {"login": f"nobody{attempt}@example.com", "password": "wrong-password-123"},
        REMOTE_ADDR=PROXY_IP,
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


def _is_limited(response):
    return response.status_code == 429 or b"Too many failed login attempts" in response.content


def _limited_after_a_full_allowance(client, forwarded_for) -> bool:
    """Spend the per-IP allowance of failed logins, ``forwarded_for(attempt)`` being each request's
    X-Forwarded-For, then say whether one more attempt (header of attempt 99) is refused."""
    for attempt in range(FAILED_LOGINS_PER_IP):
        assert not _is_limited(_fail_login(client, attempt, forwarded_for(attempt)))
    return _is_limited(_fail_login(client, 99, forwarded_for(99)))


@pytest.mark.django_db
def test_behind_one_trusted_proxy_each_client_has_its_own_limit(client, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    assert _limited_after_a_full_allowance(client, lambda attempt: "203.0.113.5")
    # Another seller behind the same proxy is not locked out.
    assert not _is_limited(_fail_login(client, 100, "198.51.100.7"))


@pytest.mark.django_db
def test_without_trusted_proxy_a_spoofed_forwarded_for_is_ignored(client, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    # A new made-up address per attempt does not escape the limit of the connecting address.
    assert _limited_after_a_full_allowance(client, lambda attempt: f"192.0.2.{attempt}")


@pytest.mark.django_db
def test_only_the_proxys_own_entry_is_trusted(client, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    # The client prepends made-up addresses; the proxy appends the real one last.
    assert _limited_after_a_full_allowance(client, lambda attempt: f"192.0.2.{attempt}, 203.0.113.5")


def _allauth_ip_settings(**env):
    code = (
        "import django; django.setup(); from allauth import app_settings as s; "
        "print(s.TRUSTED_PROXY_COUNT, s.TRUSTED_CLIENT_IP_HEADER)"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTED_")}
    environment = {**clean, "DJANGO_SETTINGS_MODULE": "brickinvoice.settings", **env}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_proxy_trust_comes_from_the_environment_and_defaults_to_none():
    assert _allauth_ip_settings() == ["0", "None"]
    assert _allauth_ip_settings(TRUSTED_PROXY_COUNT="1") == ["1", "None"]
    assert _allauth_ip_settings(TRUSTED_CLIENT_IP_HEADER="X-Real-IP") == ["0", "X-Real-IP"]
