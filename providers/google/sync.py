"""A cache of rmcal's events kept current with Calendar sync tokens.

Why: reading every occurrence of every series with ``events.instances`` costs one call per
series per run. One incremental ``events.list`` (``syncToken``) instead brings only what changed
in the calendar since the last run; the series' parents and their exceptions are kept, compact,
in the provider's key-value store beside the token, and occurrences are rebuilt from them
(``events.overlay``). A 410 from Google, a missing token or an unreadable cache means one full
re-read, never a wrong answer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from googleapiclient.errors import HttpError

from rmcal.errors import ProviderError
from rmcal.provider import KeyValue

from .batch import reasons
from .client import GoogleClient
from .events import compact, is_parent
from .settings import PROVIDER

SYNC_NAMESPACE = "google"
SYNC_STATE_VERSION = 1

Events = dict[str, dict[str, Any]]


class SyncTokenExpired(Exception):
    """Google answered 410: the sync token is no longer valid and a full re-read is needed."""


def synced_events(
    client: GoogleClient,
    wanted_ids: set[str],
    *,
    kv: KeyValue,
    log: logging.Logger,
    full: bool = False,
) -> Events:
    """rmcal's series and their exceptions, brought up to date with a sync token.

    The cache (compact events, keyed by id) and the token live in ``kv``, one entry per
    calendar, so a cache from another calendar is never mixed in.
    """
    name = f"events:{client.settings.calendar_id}"
    state: dict[str, Any] | None = None
    raw = None if full else kv.get(SYNC_NAMESPACE, name)  # --full: read it all again
    if raw:
        try:
            state = json.loads(raw)
        except ValueError:
            state = None
        if not isinstance(state, dict) or state.get("version") != SYNC_STATE_VERSION:
            state = None
    events: Events = {}
    token: str | None = None
    if state is not None:
        events = state.get("events") or {}
        try:
            changes, token = _list_sync(client, {"syncToken": state["token"]})
        except SyncTokenExpired:
            log.info("google: sync token expired; reading the calendar again")
            events, token = {}, None
        else:
            _merge_changes(events, changes, wanted_ids)
    if token is None:
        changes, token = _list_sync(client, {})
        events = {}
        _merge_changes(events, changes, wanted_ids)
    kv.put(
        SYNC_NAMESPACE,
        name,
        json.dumps(
            {"version": SYNC_STATE_VERSION, "token": token, "events": events},
            separators=(",", ":"),
        ),
    )
    return events


def _list_sync(client: GoogleClient, params: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """All pages of a full or incremental ``events.list``; the changes and the next token."""
    items: list[dict[str, Any]] = []
    page: str | None = None
    while True:
        request = client.events.list(
            calendarId=client.settings.calendar_id,
            showDeleted=True,
            maxResults=2500,
            pageToken=page,
            **params,
        )
        try:
            answer = client.calls.execute(request, "read calendar changes", raw_statuses=(410,))
        except HttpError as exc:
            raise SyncTokenExpired(",".join(reasons(exc))) from None
        items += answer.get("items") or []
        page = answer.get("nextPageToken")
        if not page:
            token = answer.get("nextSyncToken")
            if not token:
                raise ProviderError(
                    PROVIDER, "read calendar changes", "Google returned no sync token"
                )
            return items, str(token)


def _merge_changes(events: Events, changes: Iterable[Mapping[str, Any]], wanted: set[str]) -> None:
    """Apply a page of changes to the cache, keeping only rmcal's series and their exceptions.

    Parents first: an exception can only be recognised once its parent is known.
    """
    changes = list(changes)
    for event in changes:
        if event.get("recurringEventId"):
            continue
        event_id = str(event.get("id", ""))
        if is_parent(event) or event_id in wanted or event_id in events:
            events[event_id] = compact(event)
    for event in changes:
        parent = event.get("recurringEventId")
        if parent and str(parent) in events:
            events[str(event["id"])] = compact(event)
