"""The organizer's occurrences kept current with ``calendarView/delta``.

Why: reading every series' ``instances`` costs one request per series per run, so an idle tick
of a 1,000-pair programme read 26,000 occurrences in 250 round trips. A delta round instead
brings only what changed in the organizer's calendar view since the last run: the occurrences
of recurring events in a window, compacted, are kept in the provider's key-value store (the
state file) beside the delta link. A tick with nothing new is one request.

The cache mirrors the calendar view, it never replaces it: a missing link, an unreadable cache,
a window that no longer covers what is asked, an expired link (410, ``syncStateNotFound``,
``resyncRequired``) or ``--full`` mean one full read, never a wrong answer. The cache and the
link are two entries, the cache written first: a crash between them makes the next run apply
changes it already holds, which is harmless.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from rmcal.errors import ProviderError
from rmcal.provider import KeyValue

from .auth import PERM_READ
from .errors import map_error
from .events import utc_text
from .http import GraphHTTP
from .settings import PROVIDER

SYNC_NAMESPACE = "microsoft"
SYNC_STATE_VERSION = 1
PAGE_SIZE = 500  # Prefer: odata.maxpagesize (Graph may send fewer)
# A full read covers more than asked, so that later runs (later "now", new cohorts) still fit.
WINDOW_BEFORE = timedelta(days=31)
WINDOW_AFTER = timedelta(days=183)
EXPIRED_CODES = frozenset({"syncstatenotfound", "resyncrequired", "syncstateinvalid"})
KEPT = ("id", "seriesMasterId", "type", "originalStart", "start", "end", "isCancelled")

Instances = dict[str, dict[str, Any]]


class DeltaExpired(Exception):
    """Graph no longer knows the delta link: a full read is needed."""


def compact(item: Mapping[str, Any]) -> dict[str, Any]:
    """What ``events.occurrences_from_instances`` reads of an occurrence, and nothing more."""
    out = {k: item[k] for k in KEPT if k in item}
    out["attendees"] = [
        {
            "emailAddress": {"address": (a.get("emailAddress") or {}).get("address")},
            "status": {"response": (a.get("status") or {}).get("response")},
        }
        for a in item.get("attendees") or []
    ]
    return out


def synced_instances(
    http: GraphHTTP,
    *,
    user_path: str,
    mailbox: str,
    start: datetime,
    end: datetime,
    kv: KeyValue,
    full: bool,
    log: logging.Logger,
) -> Instances:
    """Every occurrence of a recurring event in [start, end) of the organizer's calendar
    view, by id, brought up to date with the stored delta link (or read in full)."""
    cache_name, link_name = f"occurrences:{mailbox}", f"delta:{mailbox}"
    cached = None if full else _load(kv.get(SYNC_NAMESPACE, cache_name))
    link = None if full else _load(kv.get(SYNC_NAMESPACE, link_name))
    items: Instances | None = None
    if cached is not None and link is not None and link.get("window") == cached.get("window"):
        low, high = (_parse(t) for t in cached["window"])
        if low <= start and end <= high:
            items = dict(cached.get("items") or {})
    changed = True
    if items is not None and link is not None:
        try:
            changes, next_link = _round(http, str(link["link"]))
        except DeltaExpired:
            log.info("microsoft: the delta link expired; reading the calendar view again")
            items = None
        else:
            changed = _apply(items, changes)
            window = cached["window"] if cached else None
    if items is None:
        window = [utc_text(start - WINDOW_BEFORE), utc_text(end + WINDOW_AFTER)]
        first = f"{user_path}/calendarView/delta?startDateTime={window[0]}&endDateTime={window[1]}"
        changes, next_link = _round(http, first)
        items = {}
        _apply(items, changes)
    if changed:
        _store(kv, cache_name, {"version": SYNC_STATE_VERSION, "window": window, "items": items})
    _store(kv, link_name, {"version": SYNC_STATE_VERSION, "window": window, "link": next_link})
    return items


def _round(http: GraphHTTP, link: str) -> tuple[list[dict[str, Any]], str]:
    """Every page of one delta round; the changes and the link for the next round."""
    changes: list[dict[str, Any]] = []
    headers = {"Prefer": f"odata.maxpagesize={PAGE_SIZE}"}
    while True:
        page = http.call(
            "GET",
            link,
            operation="read calendar changes",
            permission=PERM_READ,
            headers=headers,
            allow=(400, 404, 410),
        )
        if not page.ok:
            code = str(((page.body or {}).get("error") or {}).get("code") or "").lower()
            if page.status == 410 or code in EXPIRED_CODES:
                raise DeltaExpired(code)
            raise map_error(page.status, page.body, "read calendar changes", PERM_READ)
        body = page.body if isinstance(page.body, dict) else {}
        changes += body.get("value") or []
        if body.get("@odata.nextLink"):
            link = str(body["@odata.nextLink"])
            continue
        if body.get("@odata.deltaLink"):
            return changes, str(body["@odata.deltaLink"])
        raise ProviderError(PROVIDER, "read calendar changes", "Graph returned no delta link")


def _apply(items: Instances, changes: Iterable[Mapping[str, Any]]) -> bool:
    """Apply a round's changes to the cache (occurrences of recurring events only); whether
    anything changed."""
    changed = False
    for item in changes:
        key = str(item.get("id") or "")
        if not key:
            continue
        if "@removed" in item:
            changed |= items.pop(key, None) is not None
        elif item.get("seriesMasterId"):
            kept = compact(item)
            if items.get(key) != kept:
                items[key] = kept
                changed = True
    return changed


def by_master(items: Instances) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for item in items.values():
        out.setdefault(str(item["seriesMasterId"]), []).append(item)
    return out


def _load(raw: str | None) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        state = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(state, dict) or state.get("version") != SYNC_STATE_VERSION:
        return None
    return state


def _store(kv: KeyValue, name: str, state: dict[str, Any]) -> None:
    kv.put(SYNC_NAMESPACE, name, json.dumps(state, separators=(",", ":")))


def _parse(text: str) -> datetime:
    """A window bound as ``utc_text`` writes it (UTC wall time, no offset)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
