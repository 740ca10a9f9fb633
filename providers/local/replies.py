"""The organizer's inbox: attendees' replies read, matched to series files, applied once each.

Why a module of its own: without it, the local provider mails invitations that ask for an RSVP
and never reads the answers, so a mentee who declines in Outlook still counts as expected until
someone edits the .ics file by hand. ``tick`` calls ``read`` before it reads the calendar: new
messages come from the mailbox (``imap`` or ``maildir``), ``replymail`` reads the answers in
them, ``rsvp`` decides whether each counts and records it in the series file, and the files are
written once per run. Each message is remembered by its Message-ID in the state file's
key/value store, so that a reply read twice is reported once; the answer recorded in the file
(``rsvp``) makes applying it twice change nothing even when that memory is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from rmcal.errors import ProviderError
from rmcal.provider import Check, KeyValue, ProviderContext, ReplyOutcome, ReplyReport

from . import ics
from .calendars import CalendarFolder
from .files import NAME
from .ics.series import PARTSTAT_RESPONSES
from .imap import ImapMailbox
from .maildir import MaildirFolder
from .mailsource import MEMORY, Incoming, MailSource
from .reply_settings import RepliesSettings, parse_replies
from .replymail import Answer, ReplyMail, read_reply_mail
from .rsvp import Verdict, apply_answer


@dataclass
class _Open:
    """A series file being changed: the bytes read (to detect a concurrent edit), the parse."""

    path: Path
    original: bytes
    series: ics.SeriesFile
    changed: bool = False


@dataclass
class _Run:
    """One read of the inbox: outcomes so far, the files touched, the messages judged."""

    outcomes: list[ReplyOutcome] = field(default_factory=list)
    files: dict[str, _Open] = field(default_factory=dict)  # by UID
    judged: dict[str, str] = field(default_factory=dict)  # Message-ID -> what became of it


class ReplyInbox:
    """``replies:``: where the organizer's mail arrives, and the series files it answers."""

    def __init__(
        self,
        settings: RepliesSettings,
        calendars: CalendarFolder,
        *,
        env: Mapping[str, str],
        kv: KeyValue,
        log: logging.Logger,
    ) -> None:
        self.settings = settings
        self.calendars = calendars
        self.env = env
        self.kv = kv
        self.log = log

    @classmethod
    def configured(
        cls, raw: object, context: ProviderContext, calendars: CalendarFolder
    ) -> ReplyInbox | None:
        """The inbox the ``replies:`` section describes (checked), or None without one."""
        settings = parse_replies(raw, context)
        if settings is None:
            return None
        return cls(settings, calendars, env=context.env, kv=context.kv, log=context.log)

    @staticmethod
    def note(inbox: ReplyInbox | None) -> str:
        """The capability note: whether answers are read, and from where."""
        if inbox is None:
            return (
                "replies: not read (no replies: section); an answer counts only once it is "
                "written into the .ics file"
            )
        return f"replies: tick applies attendees' answers from {inbox.where}"

    @property
    def where(self) -> str:
        return self.settings.where

    def _source(self, *, write: bool) -> MailSource:
        if self.settings.imap is not None:
            return ImapMailbox(
                self.settings.imap, env=self.env, kv=self.kv, log=self.log, write=write
            )
        assert self.settings.maildir is not None  # the settings hold exactly one of them
        return MaildirFolder(self.settings.maildir, kv=self.kv, log=self.log)

    def check(self) -> Check:
        """``rmcal auth check``: the mailbox opens (and, for IMAP, the login works)."""
        source = self._source(write=False)
        try:
            return Check("replies", True, source.check())
        except ProviderError as exc:
            return Check("replies", False, f"{exc.operation}: {exc.message}", remedy=exc.remedy)
        finally:
            source.close()

    def read(self, now: datetime, *, apply: bool) -> ReplyReport:
        """Apply the answers in every message not read before; ``apply=False`` only reports.

        The series files are written, and the messages remembered, only after every answer
        was judged: a failure on the way leaves both as they were, and the next run reads the
        same messages again.
        """
        source = self._source(write=apply)
        run = _Run()
        try:
            incoming = source.fetch()
            for item in incoming:
                mail = read_reply_mail(item.data)
                if mail is not None:
                    self._judge(run, item, mail)
            if apply:
                self._write(run)
                for message_id, what in run.judged.items():
                    self.kv.put(MEMORY, f"message:{message_id}", f"{now.isoformat()} {what}")
                source.done(incoming)
        finally:
            source.close()
        return ReplyReport(source.where, source.examined, tuple(run.outcomes))

    def _judge(self, run: _Run, item: Incoming, mail: ReplyMail) -> None:
        """Every answer of one message, judged against its series file (changed in memory)."""
        key = mail.message_id
        if key in run.judged or self.kv.get(MEMORY, f"message:{key}") is not None:
            return  # read before: another copy of it, or a source that forgot its place
        before = len(run.outcomes)

        def ignored(detail: str, attendee: str = "") -> None:
            run.outcomes.append(
                ReplyOutcome(
                    message_id=key,
                    attendee=attendee,
                    response=None,
                    series_key=None,
                    occurrence=None,
                    applied=False,
                    detail=detail,
                    source=item.label,
                )
            )

        if mail.method == "COUNTER":
            ignored(
                f"{mail.sender} proposes another time (METHOD:COUNTER); rmcal does not move "
                "sessions on request: move it in the calendar file, or change the pair's slot",
                mail.sender,
            )
        elif mail.method == "REPLY" and mail.problem is not None:
            ignored(f"a reply from {mail.sender or 'an unknown sender'}: {mail.problem}")
        elif mail.method == "REPLY":
            for answer in mail.answers:
                self._answer(run, item, mail, answer)
        applied = sum(o.applied for o in run.outcomes[before:])
        run.judged[key] = f"{applied} applied, {len(run.outcomes) - before - applied} ignored"

    def _answer(self, run: _Run, item: Incoming, mail: ReplyMail, answer: Answer) -> None:
        work = self._file(run, answer.uid)
        response = PARTSTAT_RESPONSES.get(answer.partstat)
        if work is None:
            run.outcomes.append(
                ReplyOutcome(
                    message_id=mail.message_id,
                    attendee=answer.attendee,
                    response=response,
                    series_key=None,
                    occurrence=None,
                    applied=False,
                    detail=f"{answer.attendee} answered an event that is not one of rmcal's "
                    f"series (UID {answer.uid or 'missing'}); nothing changed",
                    source=item.label,
                )
            )
            return
        try:
            verdict = apply_answer(work.series, answer, mail.senders)
        except ValueError as exc:  # IcsError too: a time in the reply that cannot be placed
            verdict = Verdict(
                False, f"the answer from {answer.attendee} cannot be read: {exc}; nothing changed"
            )
        if verdict.applied:
            work.changed = True
            data = work.series.calendar.to_ical()
            work.series = self.calendars.parse(work.path, data)  # the next answer sees this one
        if verdict.duplicate:
            return
        run.outcomes.append(
            ReplyOutcome(
                message_id=mail.message_id,
                attendee=answer.attendee,
                response=response,
                series_key=work.series.key,
                occurrence=verdict.occurrence,
                applied=verdict.applied,
                detail=verdict.detail,
                source=item.label,
            )
        )

    def _file(self, run: _Run, uid: str) -> _Open | None:
        """The series file with this UID, parsed afresh to be changed (None: not rmcal's)."""
        if not run.files:
            for path, series in self.calendars.all():
                run.files[series.event.uid] = _Open(path, b"", series)
        work = run.files.get(uid)
        if work is None:
            return None
        if not work.original:  # first answer for this file: a private copy to change
            work.original = self._read(work.path)
            work.series = self.calendars.parse(work.path, work.original)
        return work

    @staticmethod
    def _read(path: Path) -> bytes:
        try:
            return path.read_bytes()
        except OSError as exc:
            raise ProviderError(NAME, f"read {path}", str(exc), retryable=True) from exc

    def _write(self, run: _Run) -> None:
        """Write every changed series file, unless someone changed it since it was read."""
        for work in run.files.values():
            if not work.changed:
                continue
            if self._read(work.path) != work.original:
                raise ProviderError(
                    NAME,
                    f"apply replies to {work.path}",
                    "the file changed while the replies were applied",
                    remedy="run tick again: the replies are read again and nothing is lost",
                    retryable=True,
                )
            try:
                self.calendars.write(work.path, work.series.calendar.to_ical())
            except OSError as exc:
                raise ProviderError(NAME, f"write {work.path}", str(exc), retryable=True) from exc
            self.log.info("local: recorded answers in %s", work.path)
