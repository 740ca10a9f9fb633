"""Measured attendance from Google Meet conference records (optional, ``attendance: true``).

Why optional and separate: it needs two more scopes (``meetings.space.readonly`` for the
records, ``directory.readonly`` to turn a participant's ``users/{id}`` into an e-mail through the
People API) and several calls per occurrence, and Meet deletes records 30 days after a call, so
it is worth its cost only for programmes that ask for it. A recurring event keeps one meeting
code for all its occurrences; each call on that code is one conference record, matched to an
occurrence by its start time.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from rmcal.errors import NotFound
from rmcal.provider import KeyValue, Occurrence, Series

from .batch import Calls
from .events import parse_time, rfc3339

RETENTION = timedelta(days=30)  # ConferenceRecord.expireTime: 30 days after the call ended
EARLY_JOIN = timedelta(minutes=30)  # a call started this long before the slot still counts
PEOPLE_NAMESPACE = "google-people"


class Attendance:
    """Adds ``attended_seconds`` to occurrences of series that have a Meet link."""

    def __init__(
        self,
        calls: Calls,
        meet: Any,
        people: Any,
        kv: KeyValue,
        now: Callable[[], datetime],
    ) -> None:
        self.calls = calls
        self.meet = meet
        self.people = people
        self.kv = kv
        self.now = now

    def measure(self, series: Series, occurrences: list[Occurrence]) -> list[Occurrence]:
        """The same occurrences, with seconds joined per e-mail where Meet can still tell.

        ``None`` stays for occurrences not over yet, past the retention window, cancelled, or
        of a series without a Meet link; ``{}`` means the call record shows nobody joined.
        """
        code = series.extra.get("conference_id")
        now = self.now()
        measurable = [o for o in occurrences if code and not o.cancelled and o.end <= now]
        if not measurable:
            return occurrences
        first = min(o.start for o in measurable) - EARLY_JOIN
        last = max(o.end for o in measurable)
        records = self._records(str(code), first, last)
        measured: dict[datetime, dict[str, int]] = {}
        for occurrence in measurable:
            mine = [
                r
                for r in records
                if occurrence.start - EARLY_JOIN <= parse_time(r["startTime"]) < occurrence.end
            ]
            if not mine:
                if now - occurrence.end < RETENTION:
                    measured[occurrence.original_start] = {}
                continue
            seconds: dict[str, int] = {}
            for record in mine:
                for email, joined in self._joined(record["name"]).items():
                    seconds[email] = seconds.get(email, 0) + joined
            measured[occurrence.original_start] = seconds
        return [
            dataclasses.replace(o, attended_seconds=measured[o.original_start])
            if o.original_start in measured
            else o
            for o in occurrences
        ]

    def _records(self, code: str, first: datetime, last: datetime) -> list[dict[str, Any]]:
        query = (
            f'space.meeting_code = "{code}" AND start_time >= "{rfc3339(first)}" '
            f'AND start_time <= "{rfc3339(last)}"'
        )
        return self._pages(
            lambda token: self.meet.conferenceRecords().list(
                filter=query, pageSize=100, pageToken=token
            ),
            "conferenceRecords",
            "read Meet conference records",
        )

    def _joined(self, record: str) -> dict[str, int]:
        """Seconds in the call per signed-in participant's e-mail (sessions summed)."""
        out: dict[str, int] = {}
        participants = self._pages(
            lambda token: (
                self.meet.conferenceRecords()
                .participants()
                .list(parent=record, pageSize=100, pageToken=token)
            ),
            "participants",
            "read Meet participants",
        )
        for participant in participants:
            user = (participant.get("signedinUser") or {}).get("user")
            email = self._email(str(user)) if user else None
            if not email:
                continue  # anonymous and phone participants cannot be matched to a person
            sessions = self._pages(
                functools.partial(self._sessions_page, str(participant["name"])),
                "participantSessions",
                "read Meet participant sessions",
            )
            total = 0
            for session in sessions:
                if session.get("startTime") and session.get("endTime"):
                    span = parse_time(session["endTime"]) - parse_time(session["startTime"])
                    total += max(0, int(span.total_seconds()))
            out[email] = out.get(email, 0) + total
        return out

    def _sessions_page(self, participant: str, token: str | None) -> Any:
        """One page of a participant's sessions (each join and leave is one session)."""
        return (
            self.meet.conferenceRecords()
            .participants()
            .participantSessions()
            .list(parent=participant, pageSize=100, pageToken=token)
        )

    def _email(self, user: str) -> str | None:
        """``users/123`` -> the person's primary e-mail, cached in the state file."""
        person_id = user.rsplit("/", 1)[-1]
        cached = self.kv.get(PEOPLE_NAMESPACE, person_id)
        if cached is not None:
            return cached or None
        try:
            answer = self.calls.execute(
                self.people.people().get(
                    resourceName=f"people/{person_id}", personFields="emailAddresses"
                ),
                "resolve a Meet participant",
            )
        except NotFound:
            answer = {}  # a guest from outside the domain: no directory profile
        addresses = answer.get("emailAddresses") or []
        primary = [a for a in addresses if (a.get("metadata") or {}).get("primary")]
        chosen = (primary or addresses or [{}])[0].get("value")
        email = str(chosen).lower() if chosen else ""
        self.kv.put(PEOPLE_NAMESPACE, person_id, email)
        return email or None

    def _pages(
        self, make: Callable[[str | None], Any], field: str, operation: str
    ) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            answer = self.calls.execute(make(token), operation)
            items += answer.get(field) or []
            token = answer.get("nextPageToken")
            if not token:
                return items
