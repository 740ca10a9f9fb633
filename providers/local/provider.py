"""The local provider: calendars as RFC 5545 files in a folder, mail as .eml files (and SMTP).

Why it exists: a newcomer's first ``rmcal schedule`` needs no accounts, and a programme on a mail
system rmcal has no API for (or none at all) still gets real invitations. It is the embedded
default, not a mock: people and other tools may edit the files (decline a session, cancel one,
move one), and everything rmcal reads back comes from the files, never from its own memory.

This module is the contract and the I/O; the folder layout is in ``files``, the RFC 5545 codec
in ``ics``, invitations in ``imip``, the outbox and SMTP in ``outbox`` and ``smtp``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from email.errors import MessageError
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Event, vRecur, vText

from rmcal import recurrence
from rmcal.errors import ProviderError
from rmcal.intervals import Interval, merge
from rmcal.provider import (
    MAIL_KEY_HEADER,
    TAG_COHORT,
    BusyMap,
    Cancellation,
    Capabilities,
    Check,
    ItemFailure,
    Occurrence,
    Progress,
    ProviderContext,
    ReplyReport,
    Response,
    Series,
    SeriesEnd,
    SeriesSpec,
)

from . import edits, ics
from .calendars import CalendarFolder
from .files import BUSY, CALENDARS, NAME, OUTBOX, atomic_write, secure_folders
from .ics.values import UTC
from .imip import Change, invitation
from .outbox import Outbox
from .replies import ReplyInbox
from .settings import parse_settings

_T = TypeVar("_T")


class LocalProvider:
    """The ``local`` provider: a folder of .ics files and .eml files, optionally SMTP delivery.

    "Now" for DTSTAMP, invitation dates and outbox names is ``context.clock``: the run's clock,
    so that ``--now`` (and a test's fixed moment) moves the files as well as the ledger.
    """

    name = NAME

    def __init__(self, settings: Mapping[str, Any], context: ProviderContext) -> None:
        self.settings = parse_settings(settings, context)
        self.context = context
        self.folder = self.settings.folder
        secure_folders(self.folder, context.log)
        try:
            self._zone = ZoneInfo(context.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self._zone = UTC
        self.calendars = CalendarFolder(self.folder, self._zone)
        self.outbox = Outbox(
            self.folder,
            smtp=self.settings.smtp,
            organizer=context.organizer,
            env=context.env,
            clock=self._now,
            log=context.log,
        )
        self.inbox = ReplyInbox.configured(settings.get("replies"), context, self.calendars)
        smtp = self.settings.smtp
        delivery = (
            f"delivered over SMTP via {smtp.host}:{smtp.port} and kept"
            if smtp
            else "not delivered (no smtp: section); they are kept"
        )
        self.capabilities = Capabilities(
            video=False,
            attendance=False,
            batch_size=1000,
            sends_invitations=True,
            idempotent_send=True,  # one .eml per X-Rmcal-Key: a re-send finds it and stops
            notes=(
                "video: the local provider cannot create meeting links; series have none "
                "(add a link to the description template if the programme uses one)",
                "attendance: not measured; declines, cancellations and moves are read from "
                f"the .ics files in {self.folder / CALENDARS}",
                f"mail and invitations are {delivery} in {self.folder / OUTBOX}",
                ReplyInbox.note(self.inbox),
            ),
        )

    def _now(self) -> datetime:
        now = self.context.clock()
        return now if now.tzinfo is not None else now.replace(tzinfo=UTC)

    # --- free/busy ------------------------------------------------------------------------------

    def busy(self, emails: Sequence[str], start: datetime, end: datetime) -> BusyMap:
        """Busy time from ``busy/<email>.ics`` plus the person's own rmcal series (not declined).

        A person without a busy file is free (an empty tuple), not unknown: in the local world,
        the folder is everything there is to know.
        """
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("busy() needs aware datetimes")
        wanted = {email.strip().lower() for email in emails}
        found: dict[str, list[Interval]] = {email: [] for email in wanted}
        folder = self.folder / BUSY
        files = (
            {p.stem.lower(): p for p in folder.glob("*.ics") if not p.name.startswith(".")}
            if folder.is_dir()
            else {}
        )
        for email in wanted:
            path = files.get(email)
            if path is None:
                continue
            try:
                data = path.read_bytes()
                found[email] += ics.busy_intervals(data, start, end, self._zone)
            except OSError as exc:
                raise ProviderError(NAME, f"read {path}", str(exc), retryable=True) from exc
            except (ics.IcsError, ValueError) as exc:
                raise ProviderError(
                    NAME,
                    f"read {path}",
                    str(exc),
                    remedy="fix or re-export the calendar, or remove the file (= free)",
                ) from exc
        for path, series in self.calendars.all():
            try:
                instances = series.event.overlapping(start, end)
            except (ics.IcsError, ValueError) as exc:
                raise ProviderError(NAME, f"read {path}", str(exc)) from exc
            for inst in instances:
                if inst.cancelled or ics.transparent(inst.event):
                    continue
                for email, answer in series.answers(inst).items():
                    if email in wanted and answer is not Response.DECLINED:
                        found[email].append(
                            (
                                max(inst.start, start).astimezone(UTC),
                                min(inst.end, end).astimezone(UTC),
                            )
                        )
        return {email: merge(found[email]) for email in sorted(wanted)}

    # --- reading series -------------------------------------------------------------------------

    def find_series(self, cohort_id: str) -> list[Series]:
        """Series whose file says ``X-RMCAL-COHORT:<cohort_id>``: the files are the truth."""
        return [s for s in self.find_all_series() if s.cohort_id == cohort_id]

    def find_all_series(self) -> list[Series]:
        """Every series file that carries rmcal's cohort tag, in key order."""
        out = [
            series.to_series(str(path))
            for path, series in self.calendars.all()
            if series.tags.get(TAG_COHORT)
        ]
        return sorted(out, key=lambda s: s.key)

    def occurrences(
        self, series: Sequence[Series], start: datetime, end: datetime
    ) -> dict[str, list[Occurrence]]:
        """Occurrences by original start in [start, end), read from each series file.

        A series whose file was deleted by hand is reported with every occurrence cancelled
        (expanded from the Series given), as a calendar reports a deleted series.
        """
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("occurrences() needs aware datetimes")
        out: dict[str, list[Occurrence]] = {}
        for item in series:
            path = self.calendars.path(item.key)
            if not path.exists():
                out[item.key] = self._deleted(item, start, end)
                continue
            parsed = self.calendars.read(path)
            try:
                out[item.key] = parsed.occurrences(start, end)
            except (ics.IcsError, ValueError) as exc:
                raise ProviderError(NAME, f"read {path}", str(exc)) from exc
        return out

    @staticmethod
    def _deleted(item: Series, start: datetime, end: datetime) -> list[Occurrence]:
        return [
            Occurrence(
                series_key=item.key,
                original_start=moment.astimezone(UTC),
                start=moment,
                end=moment + item.duration,
                cancelled=True,
            )
            for moment in recurrence.expand(item.rrule, item.start, after=start, before=end)
        ]

    # --- writing series -------------------------------------------------------------------------

    def _batch(
        self,
        items: Sequence[Any],
        key_of: Callable[[Any], str],
        work: Callable[[Any], Series],
        progress: Progress | None,
    ) -> dict[str, Series | ItemFailure]:
        """Run ``work`` per item, turning each item's failure into an ItemFailure."""
        results: dict[str, Series | ItemFailure] = {}
        try:
            for item in items:
                key = key_of(item)
                try:
                    results[key] = work(item)
                except ProviderError as exc:
                    results[key] = ItemFailure(exc.one_line(), retryable=exc.retryable)
                except OSError as exc:
                    results[key] = ItemFailure(f"cannot write: {exc}", retryable=True)
                except (ValueError, ics.IcsError) as exc:
                    results[key] = ItemFailure(str(exc), retryable=False)
                if progress is not None:
                    progress(1)
        finally:
            self.outbox.flush()
        return results

    def create_series(
        self, specs: Sequence[SeriesSpec], progress: Progress | None = None
    ) -> dict[str, Series | ItemFailure]:
        """Write ``calendars/<key>.ics`` and an invitation; an existing file is returned as is."""
        return self._batch(specs, lambda spec: spec.key, self._create, progress)

    def _create(self, spec: SeriesSpec) -> Series:
        path = self.calendars.path(spec.key)
        if path.exists():
            return self.calendars.read(path).to_series(str(path))
        now = self._now()
        master = ics.new_master(spec, stamp=now)
        data = ics.assemble(master, []).to_ical()
        parsed = self.calendars.parse(path, data)
        # The invitation is queued before the calendar is written: after a crash in between,
        # the re-run writes the same SEQUENCE and finds its invitation already in the outbox.
        self.outbox.queue(self._invitation(parsed, "create", now))
        self.calendars.write(path, data)
        self.context.log.info("local: created %s", path)
        return parsed.to_series(str(path))

    def update_series(
        self, changes: Sequence[tuple[Series, SeriesSpec]], progress: Progress | None = None
    ) -> dict[str, Series | ItemFailure]:
        """Rewrite each master from its spec (SEQUENCE+1) and re-invite; no change, no write.

        Overrides and EXDATEs whose RECURRENCE-ID the new rule still produces are kept; the
        others no longer refer to an occurrence and are dropped. Answers survive an update that
        keeps the timing, and are reset to NEEDS-ACTION when the time or rule changes.
        """
        return self._batch(changes, lambda change: change[1].key, self._update, progress)

    def _update(self, change: tuple[Series, SeriesSpec]) -> Series:
        current, spec = change
        if current.key != spec.key:
            raise ValueError(f"series {current.key} cannot become {spec.key}; keys are stable")
        path, old = self.calendars.existing(current.key)
        master = _copy(old.master)
        answers = {
            ics.email_of(a): ics.param_of(a, "PARTSTAT", "NEEDS-ACTION")
            for a in ics.prop_values(old.master, "ATTENDEE")
        }
        ics.fill_master(master, spec, partstats=answers)
        if ics.timing(master) != ics.timing(old.master):
            ics.fill_master(master, spec)
        master, overrides, dropped = ics.prune(old, master)
        if not dropped and ics.signature(master) == ics.signature(old.master):
            return old.to_series(str(path))
        return self._rewrite(path, old, master, overrides, "update")

    def end_series(
        self, ends: Sequence[SeriesEnd], progress: Progress | None = None
    ) -> dict[str, Series | ItemFailure]:
        """Trim each RRULE to end with the occurrence at ``last`` (kept); the file stays.

        Overrides up to ``last`` (the past) are kept; a series that already ends by then is
        left alone. With ``last`` None the master is marked ``STATUS:CANCELLED`` and attendees
        get an iTIP CANCEL. The end's description, when given, replaces the old one.
        """
        return self._batch(ends, lambda end: end.series.key, self._end, progress)

    def _end(self, end: SeriesEnd) -> Series:
        current, last = end.series, end.last
        path, old = self.calendars.existing(current.key)
        first = old.event.first
        if last is None:
            if old.event.cancelled:
                return old.to_series(str(path))
            master = _copy(old.master)
            _describe(master, end)
            master.pop("STATUS", None)
            master.add("STATUS", "CANCELLED")
            return self._rewrite(path, old, master, [], "cancel")
        if last.tzinfo is None:
            raise ValueError(f"series {current.key}: the last occurrence must be aware")
        if old.event.rule is None:
            return old.to_series(str(path))
        if last < first:
            raise ValueError(
                f"series {current.key} starts {first.isoformat()}, after the requested end "
                f"{last.isoformat()}; nothing would be kept (cancel it instead)"
            )
        ends_at = recurrence.last_start(old.rule, first)
        if ends_at is not None and ends_at <= last:
            return old.to_series(str(path))
        master = _copy(old.master)
        master.pop("RRULE", None)
        rule = recurrence.with_until(old.rule, last)
        master.add("RRULE", vRecur.from_ical(rule))
        _describe(master, end)
        master, overrides, _ = ics.prune(old, master)
        return self._rewrite(path, old, master, overrides, "end")

    def _rewrite(
        self,
        path: Path,
        old: ics.SeriesFile,
        master: Event,
        overrides: list[Event],
        change: Change,
    ) -> Series:
        now = self._now()
        for name in ("SEQUENCE", "DTSTAMP", "LAST-MODIFIED"):
            master.pop(name, None)
        master.add("SEQUENCE", old.sequence + 1)
        master.add("DTSTAMP", now.astimezone(UTC))
        master.add("LAST-MODIFIED", now.astimezone(UTC))
        calendar = ics.assemble(master, overrides, keep=ics.custom_timezones(old.calendar))
        data = calendar.to_ical()
        parsed = self.calendars.parse(path, data)
        self.outbox.queue(self._invitation(parsed, change, now))
        self.calendars.write(path, data)
        self.context.log.info("local: %s %s (sequence %d)", change, path, parsed.sequence)
        return parsed.to_series(str(path))

    def _invitation(self, series: ics.SeriesFile, change: Change, now: datetime) -> EmailMessage:
        return invitation(series, change=change, now=now, organizer=self.context.organizer)

    # --- mail -----------------------------------------------------------------------------------

    def send(
        self, messages: Sequence[EmailMessage], progress: Progress | None = None
    ) -> dict[str, ItemFailure | None]:
        """Write each message to the outbox once per X-Rmcal-Key, then deliver over SMTP.

        A key already in the outbox is a success without a second file (or a second delivery,
        once SMTP accepted it). Messages that reached the outbox but not the SMTP server stay
        queued and are retried by the next call; their keys report a retryable ItemFailure.
        """
        results: dict[str, ItemFailure | None] = {}
        batch: list[str] = []
        try:
            for index, message in enumerate(messages):
                raw_key = message.get(MAIL_KEY_HEADER)
                if not raw_key or not str(raw_key).strip():
                    results[f"#{index}"] = ItemFailure(
                        f"message {index} has no {MAIL_KEY_HEADER} header", retryable=False
                    )
                    continue
                key = str(raw_key).strip()
                try:
                    self.outbox.queue(message)
                    results[key] = None
                    batch.append(key)
                except OSError as exc:
                    results[key] = ItemFailure(f"cannot write to the outbox: {exc}")
                except (ValueError, MessageError) as exc:  # a header email refuses to write
                    results[key] = ItemFailure(f"message cannot be written: {exc}", False)
                if progress is not None:
                    progress(1)
        finally:
            failures = self.outbox.flush()
        for key in batch:
            if key in failures:
                results[key] = ItemFailure(failures[key], retryable=True)
        return results

    def read_replies(self, now: datetime, *, apply: bool = True) -> ReplyReport | None:
        """Attendees' iMIP replies from ``replies:``, applied (``rmcal.provider.ReplyReader``)."""
        return None if self.inbox is None else self.inbox.read(now, apply=apply)

    # --- the rest of the contract ---------------------------------------------------------------

    def validate_recurrence(self, rrule: str) -> str | None:
        """Files hold any RFC 5545 rule, so only what dateutil cannot read is refused."""
        return recurrence.parse_problem(rrule)

    def check(self) -> list[Check]:
        """Whether the folder is writable, the files readable and (when set) SMTP login works."""
        checks: list[Check] = []
        probe = self.folder / ".rmcal-check"
        try:
            atomic_write(probe, b"ok\n")
            probe.unlink()
            checks.append(Check("folder", True, f"{self.folder} is writable"))
        except OSError as exc:
            checks.append(
                Check(
                    "folder",
                    False,
                    f"{self.folder}: {exc.strerror or exc}",
                    remedy="create the folder or let the user running rmcal write to it",
                )
            )
        try:
            count = len(self.calendars.all())
            checks.append(Check("calendars", True, f"{count} series file(s) readable"))
        except ProviderError as exc:
            checks.append(Check("calendars", False, exc.one_line(), remedy=exc.remedy))
        checks.append(self._check_busy())
        if self.settings.smtp is not None:
            checks.append(self.outbox.check_smtp(self.settings.smtp))
        if self.inbox is not None:
            checks.append(self.inbox.check())
        return checks

    def _check_busy(self) -> Check:
        folder = self.folder / BUSY
        if not folder.is_dir():
            return Check("busy", True, f"no {folder}: everyone counts as free")
        now = self._now()
        paths = sorted(folder.glob("*.ics"))
        for path in paths:
            try:
                ics.busy_intervals(path.read_bytes(), now, now + timedelta(days=1), self._zone)
            except (OSError, ValueError) as exc:
                return Check(
                    "busy",
                    False,
                    f"{path}: {exc}",
                    remedy="fix or re-export the calendar, or remove the file",
                )
        return Check("busy", True, f"{len(paths)} busy calendar(s) readable in {folder}")

    def close(self) -> None:
        """Nothing stays open between calls (SMTP sessions are per batch); drop the cache."""
        self.calendars.clear()

    # --- scripted edits (rmcal.provider.EditableCalendar) ---------------------------------------

    def decline_session(self, key: str, number: int, email: str) -> datetime:
        """``email`` declines one session: an override whose ATTENDEE says PARTSTAT=DECLINED."""
        return self._edit(
            key,
            lambda calendar, name: edits.decline(calendar, number=number, email=email, name=name),
        )

    def cancel_session(self, key: str, number: int, how: Cancellation = "exdate") -> datetime:
        """The organizer cancels one session: an EXDATE, or an override with STATUS:CANCELLED."""
        return self._edit(
            key, lambda calendar, name: edits.cancel(calendar, number=number, how=how, name=name)
        )

    def move_session(self, key: str, number: int, by: timedelta) -> tuple[datetime, datetime]:
        """Someone drags one session: an override with a new DTSTART and DTEND."""
        return self._edit(
            key, lambda calendar, name: edits.move(calendar, number=number, by=by, name=name)
        )

    def _edit(self, key: str, change: Callable[[Calendar, str], _T]) -> _T:
        """Read the series file, let ``change`` edit it, save it as a calendar app would.

        No SEQUENCE bump, no invitation and no check of the result: this is a person's edit,
        which rmcal only ever reads back.
        """
        path = self.calendars.path(key)
        (calendar,) = ics.parse_calendar(path.read_bytes())
        result = change(calendar, path.name)
        atomic_write(path, calendar.to_ical())
        return result


def _describe(master: Event, end: SeriesEnd) -> None:
    """Give the master the end's re-rendered description (when the core rendered one)."""
    if not end.description_text and not end.description_html:
        return
    for name in ("DESCRIPTION", "X-ALT-DESC"):
        master.pop(name, None)
    master.add("DESCRIPTION", end.description_text)
    master.add("X-ALT-DESC", vText(end.description_html), parameters={"FMTTYPE": "text/html"})


def _copy(event: Event) -> Event:
    """A detached copy of a master VEVENT, parsed afresh from its text, to rewrite."""
    fresh = Event.from_ical(event.to_ical())
    if not isinstance(fresh, Event):
        raise ics.IcsError("the master VEVENT does not read back as a VEVENT")
    return fresh
