"""The local provider: calendars as RFC 5545 files in a folder, mail as .eml files (and SMTP).

Why it exists: a newcomer's first ``rmcal schedule`` needs no accounts, and a programme on a mail
system rmcal has no API for (or none at all) still gets real invitations. It is the embedded
default, not a mock: people and other tools may edit the files (decline a session, cancel one,
move one), and everything rmcal reads back comes from the files, never from its own memory.

Folder layout (created on first write)::

    <folder>/calendars/<series-key>.ics   one series each: VTIMEZONE, master VEVENT, overrides
    <folder>/busy/<email>.ics             optional exported calendars (free/busy input)
    <folder>/outbox/<utc-stamp>-<key-slug>-<hash>.eml   every message sent, invitations too
    <folder>/outbox/.smtp-pending/<key-slug>-<hash>     queued for SMTP, not yet accepted

Every write is atomic (temporary file in the same folder, fsync, rename): a crash leaves the old
file or the new one, never half of either.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import hashlib
import html
import os
import re
import smtplib
import socket
import ssl
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Event, vRecur

from rmcal import recurrence
from rmcal.errors import ProviderError, SettingsError
from rmcal.intervals import merge
from rmcal.mail import domain_of, message_id
from rmcal.provider import (
    MAIL_KEY_HEADER,
    BusyMap,
    Capabilities,
    Check,
    Interval,
    ItemFailure,
    Occurrence,
    Progress,
    ProviderContext,
    Response,
    Series,
    SeriesSpec,
)

from . import ics

NAME = "local"
UTC = ZoneInfo("UTC")
CALENDARS = "calendars"
BUSY = "busy"
OUTBOX = "outbox"
PENDING = ".smtp-pending"
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"  # 16 characters, sorts in time order
SMTP_TIMEOUT = 30.0
_SAFE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SLUG = re.compile(r"[^a-z0-9]+")
_SETTINGS = ("folder", "smtp")
_SMTP_SETTINGS = ("host", "port", "starttls", "user", "password_env", "from")
_UPDATED = "Updated: "


# --- settings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpSettings:
    """Where to deliver mail besides the outbox; the password is only ever read from the env."""

    host: str
    port: int = 587
    starttls: bool = True
    user: str | None = None
    password_env: str | None = None
    sender: str | None = None  # envelope sender (``from:``); defaults to the organizer


@dataclass(frozen=True)
class LocalSettings:
    folder: Path
    smtp: SmtpSettings | None = None


def _unknown(key: str, allowed: Sequence[str], where: str) -> SettingsError:
    close = difflib.get_close_matches(key, allowed, n=1)
    if key == "password" and where == "smtp.":
        hint = "put the password in an environment variable and name it in smtp.password_env"
    elif close:
        hint = f"did you mean {where}{close[0]!r}?"
    else:
        hint = "known settings: " + ", ".join(where + name for name in allowed)
    return SettingsError(f"{where}{key}", "unknown setting", hint)


def parse_settings(settings: Mapping[str, Any], context: ProviderContext) -> LocalSettings:
    """Check the ``provider:`` section; every mistake is a SettingsError naming its key."""
    if not isinstance(settings, Mapping):
        raise SettingsError("folder", "the provider section must be a mapping")
    for key in settings:
        if key not in _SETTINGS and key != "kind":
            raise _unknown(str(key), _SETTINGS, "")
    raw_folder = settings.get("folder")
    if raw_folder is None or (isinstance(raw_folder, str) and not raw_folder.strip()):
        raise SettingsError("folder", "is required", "e.g. folder: ./rmcal-data")
    if not isinstance(raw_folder, str | os.PathLike):
        raise SettingsError("folder", "must be a path")
    folder = Path(raw_folder).expanduser()
    if not folder.is_absolute():
        folder = (context.config_dir / folder).resolve()
    if folder.exists() and not folder.is_dir():
        raise SettingsError("folder", f"{folder} exists and is not a folder")
    smtp = settings.get("smtp")
    return LocalSettings(folder=folder, smtp=None if smtp is None else _parse_smtp(smtp))


def _parse_smtp(raw: Any) -> SmtpSettings:
    if not isinstance(raw, Mapping):
        raise SettingsError("smtp", "must be a mapping (host, port, starttls, user, ...)")
    for key in raw:
        if key not in _SMTP_SETTINGS:
            raise _unknown(str(key), _SMTP_SETTINGS, "smtp.")
    host = raw.get("host")
    if not isinstance(host, str) or not host.strip():
        raise SettingsError("smtp.host", "is required", "e.g. host: smtp.example.com")
    port = raw.get("port", 587)
    if isinstance(port, bool) or not isinstance(port, int):
        raise SettingsError("smtp.port", "must be an integer", "587 for STARTTLS, 465 for TLS")
    if not 0 < port < 65536:
        raise SettingsError("smtp.port", f"{port} is not a TCP port")
    starttls = raw.get("starttls", True)
    if not isinstance(starttls, bool):
        raise SettingsError("smtp.starttls", "must be true or false")
    user = raw.get("user")
    if user is not None and (not isinstance(user, str) or not user.strip()):
        raise SettingsError("smtp.user", "must be a non-empty string")
    password_env = raw.get("password_env")
    if password_env is not None and (
        not isinstance(password_env, str) or not _ENV_NAME.match(password_env)
    ):
        raise SettingsError(
            "smtp.password_env",
            "must be the name of an environment variable",
            "e.g. password_env: RMCAL_SMTP_PASSWORD",
        )
    if user and not password_env:
        raise SettingsError(
            "smtp.password_env",
            "is required when smtp.user is set",
            "name the environment variable that holds the password",
        )
    if password_env and not user:
        raise SettingsError("smtp.user", "is required when smtp.password_env is set")
    sender = raw.get("from")
    if sender is not None and (not isinstance(sender, str) or "@" not in sender):
        raise SettingsError("smtp.from", f"{sender!r} is not an e-mail address")
    return SmtpSettings(
        host=host.strip(),
        port=port,
        starttls=starttls,
        user=user.strip() if user else None,
        password_env=password_env,
        sender=sender.strip().lower() if sender else None,
    )


# --- files --------------------------------------------------------------------------------------


def _file_mode() -> int:
    """The mode a plain ``open()`` would give a new file (mkstemp's 0600 would hide it)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half.

    The temporary file lives in the same folder (same file system, so ``os.replace`` is an
    atomic rename) and is fsynced before the rename; the folder is fsynced after it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # some file systems cannot fsync a folder
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def mail_slug(key: str) -> str:
    """A file-name-safe, unique name for a mail key: readable prefix plus a hash of the key."""
    readable = _SLUG.sub("-", key.lower()).strip("-")[:80].strip("-") or "message"
    return f"{readable}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


# --- SMTP ---------------------------------------------------------------------------------------


class _Mailer:
    """One SMTP session for one batch: connects lazily, fails fast once the server is gone."""

    def __init__(self, settings: SmtpSettings, env: Mapping[str, str], sender: str) -> None:
        self.settings = settings
        self.env = env
        self.sender = settings.sender or sender
        self._client: smtplib.SMTP | None = None
        self._broken: str | None = None

    def _password(self) -> str | None:
        name = self.settings.password_env
        if not name:
            return None
        value = self.env.get(name)
        if not value:
            raise _SmtpFailure(f"environment variable {name} (smtp.password_env) is not set")
        return value

    def connect(self) -> smtplib.SMTP:
        if self._client is not None:
            return self._client
        if self._broken is not None:
            raise _SmtpFailure(self._broken)
        where = f"{self.settings.host}:{self.settings.port}"
        client: smtplib.SMTP | None = None
        try:
            password = self._password()
            tls = ssl.create_default_context()
            if self.settings.port == 465:  # implicit TLS ("SMTPS"); STARTTLS does not apply
                client = smtplib.SMTP_SSL(
                    self.settings.host, self.settings.port, timeout=SMTP_TIMEOUT, context=tls
                )
            else:
                client = smtplib.SMTP(self.settings.host, self.settings.port, timeout=SMTP_TIMEOUT)
                client.ehlo()
                if self.settings.starttls:
                    client.starttls(context=tls)
                    client.ehlo()
            if self.settings.user and password is not None:
                client.login(self.settings.user, password)
        except smtplib.SMTPAuthenticationError as exc:
            self._close_quietly(client)
            self._broken = (
                f"SMTP login to {where} as {self.settings.user} was refused ({exc.smtp_code}); "
                f"check smtp.user and ${self.settings.password_env}"
            )
            raise _SmtpFailure(self._broken) from exc
        except _SmtpFailure as exc:
            self._close_quietly(client)
            self._broken = str(exc)
            raise
        except (OSError, smtplib.SMTPException) as exc:
            self._close_quietly(client)
            self._broken = f"cannot reach SMTP server {where}: {_describe(exc)}"
            raise _SmtpFailure(self._broken) from exc
        self._client = client
        return client

    def deliver(self, message: EmailMessage) -> None:
        """Hand one message to the server (raises _SmtpFailure); reconnects once if dropped."""
        for attempt in (1, 2):
            client = self.connect()
            try:
                refused = client.send_message(message, from_addr=self.sender)
            except smtplib.SMTPServerDisconnected as exc:
                self._client = None
                if attempt == 2:
                    raise _SmtpFailure(f"SMTP server closed the connection: {exc}") from exc
                continue
            except (OSError, smtplib.SMTPException) as exc:
                raise _SmtpFailure(f"SMTP refused the message: {_describe(exc)}") from exc
            if refused:
                who = ", ".join(sorted(refused))
                raise _SmtpFailure(f"SMTP refused some recipients: {who}")
            return

    @staticmethod
    def _close_quietly(client: smtplib.SMTP | None) -> None:
        if client is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                client.close()

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self._client.quit()
            self._close_quietly(self._client)
            self._client = None


class _SmtpFailure(Exception):
    """One message could not be handed to the SMTP server; the text says why (no secrets)."""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = exc.smtp_error
        text = detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)
        return f"{exc.smtp_code} {text}".strip()
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__


# --- the provider -------------------------------------------------------------------------------


class LocalProvider:
    """The ``local`` provider: a folder of .ics files and .eml files, optionally SMTP delivery.

    ``clock`` gives "now" for DTSTAMP and invitation dates (tests and simulated runs inject one).
    """

    name = NAME

    def __init__(
        self,
        settings: Mapping[str, Any],
        context: ProviderContext,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = parse_settings(settings, context)
        self.context = context
        self.folder = self.settings.folder
        self._clock = clock or (lambda: datetime.now(UTC))
        try:
            self._zone = ZoneInfo(context.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self._zone = UTC
        self._cache: dict[Path, tuple[tuple[int, int, int], ics.SeriesFile]] = {}
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
            ),
        )

    # --- paths and reading ----------------------------------------------------------------------

    def _series_path(self, key: str) -> Path:
        if not _SAFE_KEY.match(key):
            raise ValueError(f"series key {key!r} cannot be a file name")
        return self.folder / CALENDARS / f"{key}.ics"

    def _read(self, path: Path) -> ics.SeriesFile:
        """Parse one series file (cached while unchanged); a bad file is a ProviderError."""
        try:
            info = path.stat()
            stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
            cached = self._cache.get(path)
            if cached is not None and cached[0] == stamp:
                return cached[1]
            data = path.read_bytes()
        except OSError as exc:
            raise ProviderError(
                NAME,
                f"read {path}",
                exc.strerror or str(exc),
                remedy="check that the folder is readable by the user running rmcal",
                retryable=True,
            ) from exc
        try:
            parsed = ics.read_series(data, stem=path.stem, zone=self._zone)
        except ics.IcsError as exc:
            raise ProviderError(
                NAME,
                f"read {path}",
                str(exc),
                remedy="fix the file (RFC 5545 text) or move it out of the calendars folder",
            ) from exc
        self._cache[path] = (stamp, parsed)
        return parsed

    def _series_files(self) -> list[tuple[Path, ics.SeriesFile]]:
        folder = self.folder / CALENDARS
        if not folder.is_dir():
            return []
        return [
            (path, self._read(path))
            for path in sorted(folder.glob("*.ics"))
            if not path.name.startswith(".")
        ]

    def _write_series(self, path: Path, data: bytes) -> ics.SeriesFile:
        """Check what we are about to write parses back, then write it atomically."""
        parsed = ics.read_series(data, stem=path.stem, zone=self._zone)
        atomic_write(path, data)
        info = path.stat()
        self._cache[path] = ((info.st_mtime_ns, info.st_size, info.st_ino), parsed)
        return parsed

    def _now(self) -> datetime:
        now = self._clock()
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
        for path, series in self._series_files():
            try:
                instances = series.event.overlapping(start, end)
            except (ics.IcsError, ValueError) as exc:
                raise ProviderError(NAME, f"read {path}", str(exc)) from exc
            for inst in instances:
                if inst.cancelled or str(inst.event.get("TRANSP", "")).upper() == "TRANSPARENT":
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
        out = [
            series.to_series(str(path))
            for path, series in self._series_files()
            if series.tags.get("cohort") == cohort_id
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
            path = self._series_path(item.key)
            if not path.exists():
                out[item.key] = self._deleted(item, start, end)
                continue
            parsed = self._read(path)
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
            self._flush_smtp()
        return results

    def create_series(
        self, specs: Sequence[SeriesSpec], progress: Progress | None = None
    ) -> dict[str, Series | ItemFailure]:
        """Write ``calendars/<key>.ics`` and an invitation; an existing file is returned as is."""
        return self._batch(specs, lambda spec: spec.key, self._create, progress)

    def _create(self, spec: SeriesSpec) -> Series:
        path = self._series_path(spec.key)
        if path.exists():
            return self._read(path).to_series(str(path))
        now = self._now()
        master = ics.new_master(spec, stamp=now)
        data = ics.assemble(master, []).to_ical()
        parsed = ics.read_series(data, stem=path.stem, zone=self._zone)
        # The invitation is queued before the calendar is written: after a crash in between,
        # the re-run writes the same SEQUENCE and finds its invitation already in the outbox.
        self._queue(self._invitation(parsed, "create", now))
        self._write_series(path, data)
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
        path, old = self._existing(current)
        master = Event.from_ical(old.master.to_ical())
        answers = {
            ics.email_of(a): str(a.params.get("PARTSTAT", "NEEDS-ACTION"))
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
        self, ends: Sequence[tuple[Series, datetime]], progress: Progress | None = None
    ) -> dict[str, Series | ItemFailure]:
        """Trim each RRULE to end with the occurrence at ``last`` (kept); the file stays.

        Overrides up to ``last`` (the past) are kept; a series that already ends by then is
        left alone.
        """
        return self._batch(ends, lambda end: end[0].key, self._end, progress)

    def _end(self, end: tuple[Series, datetime]) -> Series:
        current, last = end
        if last.tzinfo is None:
            raise ValueError(f"series {current.key}: the last occurrence must be aware")
        path, old = self._existing(current)
        first = old.event.first
        if old.event.rule is None:
            return old.to_series(str(path))
        if last < first:
            raise ValueError(
                f"series {current.key} starts {first.isoformat()}, after the requested end "
                f"{last.isoformat()}; nothing would be kept"
            )
        ends_at = recurrence.last_start(old.rule, first)
        if ends_at is not None and ends_at <= last:
            return old.to_series(str(path))
        master = Event.from_ical(old.master.to_ical())
        master.pop("RRULE", None)
        rule = recurrence.with_until(old.rule, last)
        master.add("RRULE", vRecur.from_ical(rule))
        master, overrides, _ = ics.prune(old, master)
        return self._rewrite(path, old, master, overrides, "end")

    def _existing(self, series: Series) -> tuple[Path, ics.SeriesFile]:
        path = self._series_path(series.key)
        if not path.exists():
            raise ProviderError(
                NAME,
                f"read {path}",
                "the series file no longer exists (deleted by hand?)",
                remedy="run rmcal schedule again to re-create it",
            )
        return path, self._read(path)

    def _rewrite(
        self,
        path: Path,
        old: ics.SeriesFile,
        master: Event,
        overrides: list[Event],
        kind: str,
    ) -> Series:
        now = self._now()
        for name in ("SEQUENCE", "DTSTAMP", "LAST-MODIFIED"):
            master.pop(name, None)
        master.add("SEQUENCE", old.sequence + 1)
        master.add("DTSTAMP", now.astimezone(UTC))
        master.add("LAST-MODIFIED", now.astimezone(UTC))
        calendar = ics.assemble(master, overrides, keep=ics.custom_timezones(old.calendar))
        data = calendar.to_ical()
        parsed = ics.read_series(data, stem=path.stem, zone=self._zone)
        self._queue(self._invitation(parsed, kind, now))
        self._write_series(path, data)
        self.context.log.info("local: %s %s (sequence %d)", kind, path, parsed.sequence)
        return parsed.to_series(str(path))

    # --- invitations ----------------------------------------------------------------------------

    def _invitation(self, series: ics.SeriesFile, kind: str, now: datetime) -> EmailMessage:
        """An iMIP (RFC 6047) REQUEST for the series as stored: opens as a real invitation."""
        master = series.master
        title = " ".join(ics.text_of(master, "SUMMARY").split()) or "Reverse-mentoring session"
        organizer = master.get("ORGANIZER")
        organizer_name = str(organizer.params.get("CN", "")) if organizer is not None else ""
        organizer_email = series.organizer or self.context.organizer.email.lower()
        names = {
            ics.email_of(a): str(a.params.get("CN", ""))
            for a in ics.prop_values(master, "ATTENDEE")
        }
        when = self._when(series, kind)
        text_body = ics.text_of(master, "DESCRIPTION")
        html_body = ics.text_of(master, "X-ALT-DESC") or (
            "<pre>" + html.escape(text_body) + "</pre>" if text_body else ""
        )
        message = EmailMessage()
        message["From"] = Address(organizer_name, addr_spec=organizer_email)
        message["To"] = [
            Address(names.get(email, ""), addr_spec=email) for email in series.attendees()
        ]
        message["Subject"] = (_UPDATED if kind != "create" else "") + title
        message["Date"] = format_datetime(now.astimezone(UTC))
        key = f"invite:{series.key}:{series.sequence}"
        message["Message-ID"] = message_id(key, domain_of(self.context.organizer.email))
        message[MAIL_KEY_HEADER] = key
        message.set_content(f"{when}\n\n{text_body}".rstrip() + "\n")
        message.add_alternative(
            f"<p>{html.escape(when)}</p>\n{html_body}".rstrip() + "\n", subtype="html"
        )
        invite = ics.request(series.calendar).to_ical()
        message.add_alternative(
            invite.decode("utf-8"),
            subtype="calendar",
            params={"method": "REQUEST"},
            # 8bit would need the server's 8BITMIME; quoted-printable travels everywhere.
            cte="7bit" if invite.isascii() else "quoted-printable",
        )
        message.add_attachment(invite, maintype="application", subtype="ics", filename="invite.ics")
        return message

    @staticmethod
    def _when(series: ics.SeriesFile, kind: str) -> str:
        """One human line about the schedule (the calendar part carries the exact rule)."""
        first = series.event.first
        zone = ics.zone_name(series.event.zone)
        end = first + series.event.duration
        line = (
            f"First session: {first:%A %d %B %Y}, {first:%H:%M}-{end:%H:%M} ({zone})"
            if kind != "end"
            else f"Sessions at {first:%H:%M}-{end:%H:%M} ({zone})"
        )
        count = recurrence.occurrence_count(series.rule, first)
        last = recurrence.last_start(series.rule, first)
        if kind == "end" and last is not None:
            return f"{line}; the series now ends with the session on {last:%A %d %B %Y}."
        if count is not None and count > 1:
            return f"{line}; {count} sessions."
        return line + "."

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
                    self._queue(message)
                    results[key] = None
                    batch.append(key)
                except OSError as exc:
                    results[key] = ItemFailure(f"cannot write to the outbox: {exc}")
                except (ValueError, MessageError) as exc:  # a header email refuses to write
                    results[key] = ItemFailure(f"message cannot be written: {exc}", False)
                if progress is not None:
                    progress(1)
        finally:
            failures = self._flush_smtp()
        for key in batch:
            if key in failures:
                results[key] = ItemFailure(failures[key], retryable=True)
        return results

    def _outbox_index(self) -> dict[str, str]:
        """Outbox file names by ``<slug>-<hash>`` (the part after the time stamp)."""
        folder = self.folder / OUTBOX
        if not folder.is_dir():
            return {}
        found: dict[str, str] = {}
        for name in os.listdir(folder):
            if name.endswith(".eml") and len(name) > len(STAMP_FORMAT) + 6 and name[16] == "-":
                found[name[17:-4]] = name
        return found

    def _queue(self, message: EmailMessage) -> bool:
        """Put one message in the outbox (and the SMTP queue); False when its key is there.

        The SMTP marker is written before the .eml: a crash between the two leaves a marker
        without a message (dropped on the next flush), never a message that is silently
        taken as delivered.
        """
        key = str(message[MAIL_KEY_HEADER]).strip()
        slug = mail_slug(key)
        outbox = self.folder / OUTBOX
        if slug in self._outbox_index():
            return False
        if message["Date"] is None or message["Message-ID"] is None or message["From"] is None:
            message = copy.deepcopy(message)  # the caller's message is never changed
        when = self._now()
        if message["Date"] is None:
            message["Date"] = format_datetime(when.astimezone(UTC))
        else:
            with contextlib.suppress(TypeError, ValueError):
                parsed = parsedate_to_datetime(str(message["Date"]))
                when = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        if message["Message-ID"] is None:
            message["Message-ID"] = message_id(key, domain_of(self.context.organizer.email))
        if message["From"] is None:
            organizer = self.context.organizer
            message["From"] = Address(organizer.name, addr_spec=organizer.email)
        data = message.as_bytes(policy=policy.SMTP)
        name = f"{when.astimezone(UTC).strftime(STAMP_FORMAT)}-{slug}.eml"
        if self.settings.smtp is not None:
            atomic_write(outbox / PENDING / slug, name.encode())
        atomic_write(outbox / name, data)
        self.context.log.info("local: wrote %s", outbox / name)
        return True

    def _flush_smtp(self) -> dict[str, str]:
        """Deliver every queued message over SMTP, oldest first; failures by mail key."""
        smtp = self.settings.smtp
        pending = self.folder / OUTBOX / PENDING
        if smtp is None or not pending.is_dir():
            return {}
        markers = sorted(
            (p for p in pending.iterdir() if not p.name.startswith(".")),
            key=lambda p: p.read_text(errors="replace"),
        )
        failures: dict[str, str] = {}
        mailer = _Mailer(smtp, self.context.env, self.context.organizer.email.lower())
        try:
            for marker in markers:
                eml = self.folder / OUTBOX / marker.read_text().strip()
                if not eml.is_file():
                    marker.unlink(missing_ok=True)
                    continue
                with eml.open("rb") as handle:
                    message = BytesParser(policy=policy.default).parse(handle)
                key = str(message.get(MAIL_KEY_HEADER, marker.name)).strip()
                try:
                    mailer.deliver(message)  # type: ignore[arg-type]
                except _SmtpFailure as exc:
                    failures[key] = str(exc)
                    self.context.log.warning("local: %s stays queued: %s", eml.name, exc)
                    continue
                marker.unlink(missing_ok=True)
                self.context.log.info("local: delivered %s over SMTP", eml.name)
        finally:
            mailer.close()
        return failures

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
            count = len(self._series_files())
            checks.append(Check("calendars", True, f"{count} series file(s) readable"))
        except ProviderError as exc:
            checks.append(Check("calendars", False, exc.one_line(), remedy=exc.remedy))
        checks.append(self._check_busy())
        if self.settings.smtp is not None:
            checks.append(self._check_smtp(self.settings.smtp))
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

    def _check_smtp(self, smtp: SmtpSettings) -> Check:
        mailer = _Mailer(smtp, self.context.env, self.context.organizer.email.lower())
        pending = self.folder / OUTBOX / PENDING
        queued = len(list(pending.iterdir())) if pending.is_dir() else 0
        waiting = f"; {queued} message(s) waiting for delivery" if queued else ""
        who = f" as {smtp.user}" if smtp.user else ""
        try:
            mailer.connect()
        except _SmtpFailure as exc:
            return Check(
                "smtp",
                False,
                f"{exc}{waiting}",
                remedy="check smtp.host, smtp.port, smtp.starttls, smtp.user and the password "
                "environment variable",
            )
        finally:
            mailer.close()
        return Check("smtp", True, f"{smtp.host}:{smtp.port}{who} accepted{waiting}")

    def close(self) -> None:
        """Nothing stays open between calls (SMTP sessions are per batch); drop the cache."""
        self._cache.clear()
