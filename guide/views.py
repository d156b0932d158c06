"""The guide's pages: public, read-only, the same for every reader but for the language."""

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_safe

from .sections import SECTIONS, prose_template, section_get


def _neighbours(slug: str):
    slugs = [section.slug for section in SECTIONS]
    at = slugs.index(slug)
    previous = SECTIONS[at - 1] if at > 0 else None
    following = SECTIONS[at + 1] if at + 1 < len(SECTIONS) else None
    return previous, following


@require_safe
def index(request):
    context = {"sections": SECTIONS, "prose": prose_template("index"), "section": None}
    return render(request, "guide/page.html", context)


@require_safe
def section(request, slug: str):
    current = section_get(slug)
    if current is None:
        raise Http404("No such guide section")
    previous, following = _neighbours(slug)
    context = {
        "sections": SECTIONS,
        "section": current,
        "prose": prose_template(slug),
        "previous": previous,
        "following": following,
    }
    return render(request, "guide/page.html", context)
