"""Links into the seller's guide: ``{% load guide %}``.

- ``{{ err.code|guide_url }}``: the troubleshooting section of an error code (``…/problemi/#err-<code>``).
- ``{% guide_error "code" %}``: on the troubleshooting page, the heading of a code's section, anchored
  ``err-<code>``, with the message and hint the product shows for it, in the reader's language.
"""

import re

from django import template

from brickinvoice.errors import CATALOGUE
from guide.sections import error_anchor, error_url

register = template.Library()

# A parameter the product fills in ("{slot}") reads as an ellipsis in the guide.
_PARAMETER = re.compile(r"\{\w+\}")


@register.filter
def guide_url(code: str) -> str:
    return error_url(str(code or ""))


@register.inclusion_tag("guide/_error.html")
def guide_error(code: str) -> dict:
    # A typo in the guide must not become a section no error box links to.
    if code not in CATALOGUE:
        raise template.TemplateSyntaxError(f"guide_error: {code!r} is not in brickinvoice.errors.CATALOGUE")
    entry = CATALOGUE[code]
    return {
        "code": code,
        "anchor": error_anchor(code),
        "message": _PARAMETER.sub("…", str(entry.message)),
        "hint": _PARAMETER.sub("…", str(entry.hint)),
    }
