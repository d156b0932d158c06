"""The guide's sections, in reading order: each has a stable slug (its URL and template name) and
a title in the reader's language."""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

# The languages the guide's prose is written in; any other active language reads the first.
LANGUAGES = ("it", "en")
TROUBLESHOOTING = "problemi"


@dataclass(frozen=True)
class Section:
    slug: str
    title: str | Promise

    @property
    def url(self) -> str:
        return reverse("guide:section", kwargs={"slug": self.slug})


SECTIONS: tuple[Section, ...] = (
    Section("prima-di-iniziare", _("Before you start")),
    Section("preregistrazione", _("Pre-registration")),
    Section("negozi", _("Connecting BrickLink and BrickOwl")),
    Section("fatture-in-cloud", _("Connecting Fatture in Cloud")),
    Section("prodotti-e-iva", _("Products, VAT types and the mapping")),
    Section("fattura-elettronica", _("E-invoices and private buyers")),
    Section("note-di-credito", _("Credit notes")),
    Section(TROUBLESHOOTING, _("Troubleshooting: every error message")),
)
BY_SLUG = {section.slug: section for section in SECTIONS}


def section_get(slug: str) -> Section | None:
    return BY_SLUG.get(slug)


def prose_language() -> str:
    """The language the guide's prose is shown in: the active one if written, else Italian."""
    language = (get_language() or "").split("-")[0]
    return language if language in LANGUAGES else LANGUAGES[0]


def prose_template(slug: str) -> str:
    """The template holding a section's prose (or the index's, slug ``index``) in the reader's language."""
    return f"guide/{prose_language()}/{slug}.html"


def error_anchor(code: str) -> str:
    return f"err-{code}"


def error_url(code: str) -> str:
    """The troubleshooting section of an error ``code``: the page with the code's anchor."""
    from brickinvoice.errors import CATALOGUE

    page = reverse("guide:section", kwargs={"slug": TROUBLESHOOTING})
    return f"{page}#{error_anchor(code)}" if code in CATALOGUE else page
