"""Free/busy through Graph's getSchedule: 20 people and under 62 days per call, four at once.

getSchedule is a POST that reads and writes nothing, so it is repeated freely (``idempotent``);
its calls count against the organizer's mailbox like every other request, hence the gate.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timedelta

from rmcal.intervals import busy_requests
from rmcal.provider import BusyMap, Interval

from .auth import PERM_READ
from .events import busy_intervals, utc_text
from .http import GraphHTTP, GraphResponse, run_at_once

SCHEDULE_PEOPLE = 20  # getSchedule: at most 20 entities per call
SCHEDULE_WINDOW = timedelta(days=62) - timedelta(hours=1)  # getSchedule: under 62 days


def read_busy(
    http: GraphHTTP, user_path: str, emails: Sequence[str], start: datetime, end: datetime
) -> BusyMap:
    """Busy intervals per person, asked of ``user_path``'s calendar (``/users/<organizer>``).

    A person Graph cannot resolve (outside the tenant, no mailbox) comes back with an
    ``error`` instead of items; they map to None (unknown), never to "free". One interval per
    schedule item (an event), not merged: an item that spans two request windows comes back
    whole in both and is kept once.
    """
    people = list(dict.fromkeys(e.lower() for e in emails))
    found: dict[str, list[Interval]] = {p: [] for p in people}
    unknown: set[str] = set()
    calls = busy_requests(
        people, start, end, people_per_call=SCHEDULE_PEOPLE, window=SCHEDULE_WINDOW
    )

    def read(chunk: list[str], w_start: datetime, w_end: datetime) -> GraphResponse:
        return http.call(
            "POST",
            f"{user_path}/calendar/getSchedule",
            operation="read free/busy",
            permission=PERM_READ,
            json_body={
                "schedules": chunk,
                "startTime": {"dateTime": utc_text(w_start), "timeZone": "UTC"},
                "endTime": {"dateTime": utc_text(w_end), "timeZone": "UTC"},
                "availabilityViewInterval": 60,
            },
            idempotent=True,
        )

    replies = run_at_once([functools.partial(read, *call) for call in calls])
    for (chunk, w_start, _), reply in zip(calls, replies, strict=True):
        seen: set[str] = set()
        for info in (reply.body or {}).get("value") or []:
            who = str(info.get("scheduleId") or "").lower()
            if who not in found:
                continue
            seen.add(who)
            if info.get("error"):
                unknown.add(who)
                continue
            items = busy_intervals(info.get("scheduleItems") or [], start, end)
            # An item that began in an earlier window was kept from that window's answer.
            found[who].extend(i for i in items if w_start == start or i[0] >= w_start)
        unknown.update(set(chunk) - seen)
    return {p: None if p in unknown else tuple(sorted(found[p])) for p in people}
