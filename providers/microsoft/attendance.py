"""Measured attendance from Teams attendance reports: who joined each occurrence, for how long.

Why a module of its own: attendance is optional and best effort. It needs permissions of its
own (``OnlineMeetingArtifact.Read.All``, ``OnlineMeetings.Read.All`` and, app-only, a Teams
application access policy), it walks three levels of Graph collections per series, and any
refusal must leave the occurrences unmeasured rather than fail the calendar read they belong to.
Keeping it apart keeps that policy in one place.

A report exists per meeting session once it ends; each is matched to the occurrence that started
nearest to it (within half a day). Occurrences without a report keep ``attended_seconds=None``
(not measured), so the core falls back to calendar signals.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from rmcal.errors import ProviderError
from rmcal.provider import Occurrence, Series

from .auth import PERM_ATTENDANCE, PERM_MEETINGS, PERM_USERS
from .events import parse_offset_time
from .http import GraphHTTP, odata_string, segment

MATCH_WINDOW = timedelta(hours=12)  # how far a report's start may sit from its occurrence's
OPERATION = "read attendance"


def seconds_per_person(records: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Seconds joined per lower-cased e-mail, summed over a person's records (re-joins)."""
    seconds: dict[str, int] = {}
    for record in records:
        email = str(record.get("emailAddress") or "").lower()
        if email:
            seconds[email] = seconds.get(email, 0) + int(
                record.get("totalAttendanceInSeconds") or 0
            )
    return seconds


def attach_report(
    occurrences: list[Occurrence], began: datetime, seconds: Mapping[str, int]
) -> None:
    """Give ``seconds`` to the held occurrence that started nearest ``began``, if one is near."""
    candidates = [
        (abs(o.start - began), i)
        for i, o in enumerate(occurrences)
        if not o.cancelled and abs(o.start - began) <= MATCH_WINDOW
    ]
    if candidates:
        _, index = min(candidates)
        occurrences[index] = replace(occurrences[index], attended_seconds=dict(seconds))


class TeamsAttendance:
    """Reads attendance reports of the organizer's Teams meetings through one Graph client."""

    def __init__(
        self,
        http: GraphHTTP,
        *,
        user_path: str,
        organizer_object_id: str | None,
        log: logging.Logger,
    ) -> None:
        self.http = http
        self.user_path = user_path  # /users/<organizer UPN>
        self._object_id = organizer_object_id
        self.log = log
        self._warning: str | None = None  # logged once per provider, not once per read

    def add_to(self, series: Sequence[Series], out: dict[str, list[Occurrence]]) -> None:
        """Fill ``attended_seconds`` in ``out`` (occurrences by series key) where reports exist."""
        try:
            owner = f"/users/{segment(self._organizer_object_id())}"
            for one in series:
                if one.video_url and one.key in out:
                    self._add_series(owner, one.video_url, out[one.key])
        except ProviderError as exc:
            # Best effort: attendance is optional, so a refusal or an outage here leaves the
            # occurrences unmeasured instead of failing the whole read.
            if self._warning is None:
                self._warning = exc.one_line()
                self.log.warning("attendance unavailable: %s", self._warning)

    def _organizer_object_id(self) -> str:
        """onlineMeetings paths take the object ID: from the settings, else looked up once."""
        if self._object_id is None:
            me = self.http.call(
                "GET",
                self.user_path,
                operation=OPERATION,
                permission=PERM_USERS,
                params={"$select": "id"},
            )
            self._object_id = str((me.body or {}).get("id") or "")
        return self._object_id

    def _add_series(self, owner: str, join_url: str, occurrences: list[Occurrence]) -> None:
        found = self.http.call(
            "GET",
            f"{owner}/onlineMeetings",
            operation=OPERATION,
            permission=PERM_MEETINGS,
            params={"$filter": f"JoinWebUrl eq {odata_string(join_url)}"},
        )
        meetings = (found.body or {}).get("value") or []
        if not meetings:
            return
        meeting = f"{owner}/onlineMeetings/{segment(str(meetings[0]['id']))}"
        for report in self.http.pages(
            f"{meeting}/attendanceReports", operation=OPERATION, permission=PERM_ATTENDANCE
        ):
            if not report.get("meetingStartDateTime"):
                continue
            records = self.http.pages(
                f"{meeting}/attendanceReports/{segment(str(report['id']))}/attendanceRecords",
                operation=OPERATION,
                permission=PERM_ATTENDANCE,
            )
            attach_report(
                occurrences,
                parse_offset_time(str(report["meetingStartDateTime"])),
                seconds_per_person(records),
            )
