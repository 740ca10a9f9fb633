"""Free/busy over ``freebusy.query``: who is busy when, for the slot finder.

Why apart: free/busy is its own Calendar endpoint with its own limits (50 calendars and 90 days
per call), and an error for one calendar inside a good answer means "unknown", not "free".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from googleapiclient.errors import HttpError

from rmcal.intervals import busy_requests, join_at
from rmcal.provider import BusyMap, Interval

from .batch import explain
from .client import GoogleClient
from .events import parse_time, rfc3339

BUSY_PEOPLE_PER_CALL = 50  # FreeBusyRequest.calendarExpansionMax maximum
BUSY_WINDOW = timedelta(days=90)  # longer ranges are refused ("time range is too long")


def busy(client: GoogleClient, emails: Sequence[str], start: datetime, end: datetime) -> BusyMap:
    """Busy intervals per person, sorted; a calendar Google reports an error for is None.

    50 people per ``freebusy.query`` and windows of at most 90 days, so a long series
    horizon costs ceil(people/50) × ceil(days/90) calls.
    """
    people = list(dict.fromkeys(e.lower() for e in emails))
    found: dict[str, list[Interval]] = {e: [] for e in people}
    unknown: set[str] = set()
    calendar = client.service("calendar")
    calls = busy_requests(
        people, start, end, people_per_call=BUSY_PEOPLE_PER_CALL, window=BUSY_WINDOW
    )
    requests = {
        str(index): calendar.freebusy().query(
            body={
                "timeMin": rfc3339(window_start),
                "timeMax": rfc3339(window_end),
                "timeZone": "UTC",
                "items": [{"id": e} for e in chunk],
            }
        )
        for index, (chunk, window_start, window_end) in enumerate(calls)
    }
    # One call alone; more in batches (each call still counts against the quota): 1,000 pairs
    # need 40 to 120 reads, and one round trip each spread them over the quota's minute.
    if len(requests) == 1:
        answers = {"0": client.calls.execute(requests["0"], "free/busy")}
    else:
        answers = client.calls.execute_many(requests, "free/busy")
    for index, (chunk, _, _) in enumerate(calls):
        answer = answers[str(index)]
        if isinstance(answer, HttpError):
            raise explain(answer, "free/busy", client.ctx)
        calendars = {str(k).lower(): v for k, v in (answer.get("calendars") or {}).items()}
        for email in chunk:
            entry = calendars.get(email)
            if entry is None or entry.get("errors"):
                unknown.add(email)  # notFound, not shared, internalError...
                continue
            for block in entry.get("busy") or []:
                found[email].append((parse_time(block["start"]), parse_time(block["end"])))
    # Google cuts a block at each window's edge; only those cuts are joined again, so that busy
    # blocks stay as Google reports them (a block that touches another is still its own).
    cuts = {window_start for _, window_start, _ in calls}
    return {e: None if e in unknown else join_at(found[e], cuts) for e in people}
