"""The Italian catalogue is complete and compiled: every string marked for translation in our code
and templates is in locale/it/LC_MESSAGES/django.po, translated and not fuzzy, and the committed
django.mo (what the product loads; running it needs no gettext) is the compiled .po.

`make messages` fixes what these tests find. They run makemessages on a copy of the tree, so
nothing here writes to the repository; they need Debian's gettext (CI installs it) and take a
few seconds.
"""

import ast
import gettext
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import unavailable

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "locale" / "it" / "LC_MESSAGES"
# Left out of the catalogue, as by `make messages` (Makefile, MESSAGES_IGNORE): the sandbox and
# the benchmarks stay English, tests are not shipped.
NOT_COLLECTED = {".venv", ".git", "sandbox", "bench", "tests", "docs", "staticfiles", "var", "test-results"}
# Our product code: where a translation call inside an f-string would go unseen by makemessages.
PRODUCT_PACKAGES = ["accounts", "brickinvoice", "fatture", "guide", "invoicing", "marketplaces", "taxes"]
TRANSLATION_CALLS = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy"}


@pytest.fixture(scope="module")
def gettext_tools():
    if not (shutil.which("msgfmt") and shutil.which("xgettext") and shutil.which("msgattrib")):
        unavailable("Debian's gettext is not installed (apt-get install gettext; .ci/gettext-deps)")


def _run(*args: str | Path, cwd: Path = ROOT) -> str:
    # The product's settings, from the copy: makemessages needs no database and no test settings.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "brickinvoice.settings"}
    result = subprocess.run(  # noqa: S603
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _ignored(directory: str, names: list[str]) -> set[str]:
    top = Path(directory) == ROOT
    return {
        n
        for n in names
        if n == "__pycache__" or n.endswith((".egg-info", ".mo")) or (top and (n in NOT_COLLECTED or n.startswith(".")))
    }


@pytest.fixture(scope="module")
def fresh_catalogue(gettext_tools, tmp_path_factory) -> Path:
    """The catalogue as `make messages` would leave it: the committed one, merged with every string
    marked in a copy of today's code and templates."""
    copy = tmp_path_factory.mktemp("tree") / "brickinvoice"
    shutil.copytree(ROOT, copy, ignore=_ignored)
    _run(
        sys.executable,
        "manage.py",
        "makemessages",
        "--locale=it",
        "--no-wrap",
        "--add-location=file",
        "--ignore=templates/sandbox/*",
        cwd=copy,
    )
    return copy / "locale" / "it" / "LC_MESSAGES" / "django.po"


def _msgids(po_text: str) -> list[str]:
    return [
        line[len('msgid "') : -1] for line in po_text.splitlines() if line.startswith('msgid "') and line != 'msgid ""'
    ]


def test_every_marked_string_is_translated(fresh_catalogue):
    missing = _msgids(_run("msgattrib", "--untranslated", "--no-obsolete", fresh_catalogue))
    assert not missing, f"{len(missing)} strings have no Italian yet (run `make messages`, translate): {missing[:10]}"


def test_no_translation_is_fuzzy(fresh_catalogue):
    fuzzy = _msgids(_run("msgattrib", "--only-fuzzy", "--no-obsolete", fresh_catalogue))
    assert not fuzzy, f"fuzzy translations to check and unflag: {fuzzy[:10]}"


def test_the_catalogue_holds_no_string_the_code_no_longer_has(fresh_catalogue):
    stale = _msgids(_run("msgattrib", "--only-obsolete", fresh_catalogue))
    assert not stale, f"run `make messages` to drop strings the code no longer has: {stale[:10]}"


def test_translations_keep_every_placeholder(gettext_tools):
    # --check: the same %(name)s, {name} and plural forms in the Italian as in the English.
    _run("msgfmt", "--check", "--output-file=/dev/null", LOCALE / "django.po")


def test_the_committed_mo_is_the_compiled_po(gettext_tools, tmp_path):
    compiled = tmp_path / "django.mo"
    _run("msgfmt", "--output-file", compiled, LOCALE / "django.po")
    with (LOCALE / "django.mo").open("rb") as committed, compiled.open("rb") as fresh:
        assert gettext.GNUTranslations(committed)._catalog == gettext.GNUTranslations(fresh)._catalog, (
            "locale/it/LC_MESSAGES/django.mo is older than django.po: run `make messages`"
        )


def _calls_inside_f_strings(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            for inner in ast.walk(node):
                func = getattr(inner, "func", None)
                if isinstance(inner, ast.Call) and getattr(func, "id", getattr(func, "attr", "")) in TRANSLATION_CALLS:
                    lines.append(inner.lineno)
    return lines


def test_no_translation_call_hides_inside_an_f_string():
    """xgettext reads an f-string as one literal: a gettext() inside it is never collected, and the
    page would show English forever."""
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for package in PRODUCT_PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for line in _calls_inside_f_strings(ast.parse(path.read_text()))
    ]
    assert not found, f"move these translation calls out of their f-strings: {found}"
