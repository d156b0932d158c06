"""Every document a comment cites is in the repository, and so is the section it names.

Code comments and docstrings cite the repository's own docs as ``docs/<file>.md §N`` (a numbered
heading) or ``docs/<file>.md, "<heading>"`` (a heading's text). A bare ``§N`` refers to the last
``docs/<file>.md`` named before it in the same source file. Citations of documents that are not in
the repository ("design §5", "README §3.1", "reference §4", "italian-vat.md §7", a path under
``shared/``) fail, so that a maintainer with only this repository can follow every one.

Pure file reading, no database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCANNED_SUFFIXES = (".py", ".html")
SKIPPED_DIRS = {".venv", ".git", "node_modules", "var", "locale", "staticfiles", "__pycache__", ".mypy_cache"}
SECTION_SIGN = "\u00a7"

DOC_PATH = r"(?<![\w/.-])docs/(?:[\w-]+/)*[\w.-]+\.md"
DOC_RE = re.compile(DOC_PATH)
HEADING_CITATION_RE = re.compile(rf"({DOC_PATH}),\s*[\"']([^\"'\n]+)[\"']")
SECTION_RE = re.compile(SECTION_SIGN + r"\s?(\d+(?:\.\d+)*)")
NUMBERED_HEADING_RE = re.compile(r"^(\d+(?:\.\d+)*)\.?\s")
# A numbered list item that a doc declares citable, e.g. "- **10.8** `country_code` is `UK` ...".
NUMBERED_ITEM_RE = re.compile(r"^\s*[-*]\s+\*\*(\d+(?:\.\d+)+)\*\*")
# Words that, right before a section sign, name a document other than a docs/ path: the outside
# design, reference and style documents, the providers' own pages, or a bare file name.
DENIED_BEFORE_RE = re.compile(
    r"(?:\b(?:README|reference|design|style|docs|spec|guide|BrickLink|BrickOwl)|[\w.-]+\.md)\s*$", re.IGNORECASE
)
DOC_BEFORE_RE = re.compile(rf"{DOC_PATH}\s*$")
SIBLING_BEFORE_RE = re.compile(r"([\w./-]+\.md)\s*$")
RFC_BEFORE_RE = re.compile(r"RFC \d+\s*$")
OUTSIDE_RE = re.compile(r"shared/(?:reference|design|style)|\.\./shared/|/work/shared")


@dataclass(frozen=True)
class Problem:
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


@cache
def headings(doc: str) -> tuple[frozenset[str], frozenset[str]]:
    """The section numbers (of headings and of bold-numbered list items) and the heading texts
    (casefolded) of a doc under the repository root."""
    numbers: set[str] = set()
    titles: set[str] = set()
    for line in (ROOT / doc).read_text(encoding="utf-8").splitlines():
        item = NUMBERED_ITEM_RE.match(line)
        if item:
            numbers.add(item.group(1))
        if not line.startswith("#"):
            continue
        title = line.lstrip("#").strip()
        titles.add(_normal(title))
        numbered = NUMBERED_HEADING_RE.match(title)
        if numbered:
            numbers.add(numbered.group(1))
            titles.add(_normal(title[numbered.end() :]))
    return frozenset(numbers), frozenset(titles)


def _normal(text: str) -> str:
    return " ".join(text.replace("`", "").split()).casefold()


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def source_files() -> list[Path]:
    found = []
    for path in ROOT.rglob("*"):
        if path.suffix not in SCANNED_SUFFIXES or not path.is_file():
            continue
        if SKIPPED_DIRS.intersection(path.relative_to(ROOT).parts) or path == Path(__file__).resolve():
            continue
        found.append(path)
    return sorted(found)


def problems_in(text: str, name: str, *, bare: bool = True) -> list[Problem]:
    """Every citation in ``text`` that names a missing doc or section, or a document outside the repo.
    With ``bare`` off (the docs themselves), a bare § refers to the page it is on and is not checked."""
    problems = [
        Problem(f"{name}:{_line_of(text, m.start())}", "cites a file outside the repository")
        for m in OUTSIDE_RE.finditer(text)
    ]
    for match in DOC_RE.finditer(text):
        if not (ROOT / match.group(0)).is_file():
            problems.append(Problem(f"{name}:{_line_of(text, match.start())}", f"{match.group(0)} does not exist"))
    for match in HEADING_CITATION_RE.finditer(text):
        doc, title = match.groups()
        if (ROOT / doc).is_file() and _normal(title) not in headings(doc)[1]:
            problems.append(Problem(f"{name}:{_line_of(text, match.start())}", f'{doc} has no heading "{title}"'))
    problems.extend(_section_problems(text, name, bare))
    return problems


def _section_problems(text: str, name: str, bare: bool) -> list[Problem]:
    problems = []
    docs = [(m.start(), m.group(0)) for m in DOC_RE.finditer(text)]
    for match in SECTION_RE.finditer(text):
        where = f"{name}:{_line_of(text, match.start())}"
        before = text[text.rfind("\n", 0, match.start()) + 1 : match.start()]
        if RFC_BEFORE_RE.search(before):
            continue
        doc = _cited_doc(before, name, bare)
        if doc is None and DENIED_BEFORE_RE.search(before) and not DOC_BEFORE_RE.search(before):
            word = DENIED_BEFORE_RE.search(before).group(0).strip()  # type: ignore[union-attr]
            problems.append(Problem(where, f'"{word} {SECTION_SIGN}" cites a document that is not in docs/'))
            continue
        if doc is None and bare:
            cited = [doc for start, doc in docs if start < match.start()]
            doc = cited[-1] if cited else None
            if doc is None:
                problems.append(Problem(where, f"{match.group(0)} names no docs/ file before it"))
                continue
        if doc is not None and (ROOT / doc).is_file() and match.group(1) not in headings(doc)[0]:
            problems.append(Problem(where, f"{doc} has no section {match.group(1)}"))
    return problems


def _cited_doc(before: str, name: str, bare: bool) -> str | None:
    """The doc named right before a section sign: a docs/ path, or (inside docs/) a sibling page."""
    explicit = DOC_BEFORE_RE.search(before)
    if explicit:
        return explicit.group(0).strip()
    sibling = SIBLING_BEFORE_RE.search(before)
    if not bare and sibling:
        for base in (Path(name).parent, Path("docs")):
            candidate = (base / sibling.group(1)).as_posix()
            if (ROOT / candidate).is_file():
                return candidate
    return None


def test_sources_cite_only_repository_docs_and_existing_sections():
    problems = [
        p for path in source_files() for p in problems_in(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    ]
    assert not problems, "\n".join(map(str, problems))


def test_docs_cite_only_existing_docs_and_sections():
    """Explicit citations inside the docs and the README (bare § there refer to the page itself)."""
    problems = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        problems += problems_in(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)), bare=False)
    assert not problems, "\n".join(map(str, problems))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(docs/tax.md §8)", []),
        ("(docs/tax.md §0 row 3, §12.2)", []),
        ("docs/tax.md §99", ["docs/tax.md has no section 99"]),
        ("docs/nowhere.md §1", ["docs/nowhere.md does not exist"]),
        ('docs/operations.md, "Quotas"', []),
        ('docs/operations.md, "No such heading"', ['docs/operations.md has no heading "No such heading"']),
        ("(design §5)", [f'"design {SECTION_SIGN}" cites a document that is not in docs/']),
        ("(README §3.1)", [f'"README {SECTION_SIGN}" cites a document that is not in docs/']),
        ("(reference §4)", [f'"reference {SECTION_SIGN}" cites a document that is not in docs/']),
        ("(italian-vat.md §7)", [f'"italian-vat.md {SECTION_SIGN}" cites a document that is not in docs/']),
        ("(docs §8.4)", [f'"docs {SECTION_SIGN}" cites a document that is not in docs/']),
        ("see (§5)", [f"{SECTION_SIGN}5 names no docs/ file before it"]),
        ("../shared/reference/fatture-in-cloud/e-invoicing.md", ["cites a file outside the repository"]),
        ("RFC 5849 §3.4.1.3.1", []),
    ],
)
def test_the_checker_catches_what_it_should(text, expected):
    assert [p.what for p in problems_in(text, "x")] == expected
