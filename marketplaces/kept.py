"""Secrets typed into a connect form that failed, kept for the retry (issue 16).

They live in the server-side session (``SESSION_ENGINE`` is the database store, never signed
cookies), encrypted with the field keys like stored credentials, for ``KEEP_SECONDS`` at most.
They never go back into the page: the form shows a masked hint and treats an empty field as
"use the kept value". A successful connect, or the time running out, forgets them.
"""

import json
import time
from collections.abc import Mapping

from django.contrib.sessions.backends.base import SessionBase

from brickinvoice.crypto import DecryptionError, decrypt, encrypt

KEEP_SECONDS = 10 * 60
SESSION_KEY = "connect_kept"


def connect_keep(*, session: SessionBase, marketplace: str, values: Mapping[str, str]) -> dict[str, str]:
    """Remember the non-empty ``values`` (merged over what was kept) and return all kept now."""
    merged = {**connect_recall(session=session, marketplace=marketplace), **{k: v for k, v in values.items() if v}}
    if not merged:
        return {}
    kept = dict(session.get(SESSION_KEY) or {})
    kept[marketplace] = {"until": time.time() + KEEP_SECONDS, "values": encrypt(json.dumps(merged))}
    session[SESSION_KEY] = kept
    return merged


def connect_recall(*, session: SessionBase, marketplace: str) -> dict[str, str]:
    """The values kept for ``marketplace``; nothing once they are older than ``KEEP_SECONDS``."""
    entry = (session.get(SESSION_KEY) or {}).get(marketplace)
    if not entry:
        return {}
    try:
        if entry["until"] < time.time():
            raise ValueError("expired")
        values = json.loads(decrypt(entry["values"]))
    except (KeyError, TypeError, ValueError, DecryptionError):
        # Expired, or from keys rotated away: the seller types them again.
        connect_forget(session=session, marketplace=marketplace)
        return {}
    return {str(k): str(v) for k, v in values.items()}


def connect_forget(*, session: SessionBase, marketplace: str) -> None:
    kept = dict(session.get(SESSION_KEY) or {})
    if kept.pop(marketplace, None) is not None:
        session[SESSION_KEY] = kept
