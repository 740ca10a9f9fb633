"""The state file: one SQLite database per programme, schema-versioned, one writer at a time.

What it holds is rmcal's memory, never the truth about calendars: series rows are a cache of
what ``find_series`` reads back (losing them costs nothing), while the mail ledger, occurrence
snapshots and imported feedback are history that only lives here. Losing the file loses that
history and the ledger, never calendar data (see README, "The state file").

One writer at a time holds the state file's lock (``rmcal.lock``) for the whole command;
read-only commands skip it (they never write), so ``rmcal status`` can run while ``tick`` sends.

Every timestamp the file records comes from an injected clock, so ``--now`` moves the ledger,
the snapshots and the imports together with the rest of a run.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from rmcal.errors import StateError
from rmcal.feedback import FeedbackRow, FeedbackStored
from rmcal.lock import release_lock, take_lock
from rmcal.private import create_private_file, narrow, private_dir
from rmcal.provider import Clock, wall_clock
from rmcal.schema import MIGRATIONS, SCHEMA_VERSION


class MailStatus(StrEnum):
    """The states of a mail ledger row; the values are the strings stored in the file.

    A row is written as SENDING before the provider call and SENT after it, so a crash in
    between leaves SENDING behind for the next run to resolve (never a blind resend).
    """

    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # tried and refused; a later run tries again while it is still useful
    SKIPPED = "skipped"  # never to be sent (stale, cancelled, baseline), with the reason
    UNCERTAIN = "uncertain"  # may or may not have gone out; never sent again


class Mode(StrEnum):
    """The one choice a caller makes when opening the state file."""

    LOCKED = "locked"  # the one writer: takes the lock, creates and migrates the file
    READ_ONLY = "read-only"  # no lock, never creates; an absent file reads as an empty one
    MEMORY = "memory"  # a throw-away database (dry runs, validation, tests)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class SeriesRow:
    key: str
    cohort_id: str
    pair_id: str
    provider: str
    provider_id: str
    fingerprint: str | None
    status: str


@dataclass(frozen=True)
class MailRow:
    key: str
    kind: str
    status: MailStatus
    pair_id: str | None
    recipients: str
    subject: str
    message_id: str | None
    attempts: int
    error: str | None
    created_at: str
    updated_at: str


class Store:
    """An open state file. Use ``Store.open(path, mode=...)`` as a context manager."""

    def __init__(
        self, conn: sqlite3.Connection, path: Path, lock_fd: int | None, clock: Clock
    ) -> None:
        self._conn = conn
        self.path = path
        self._lock_fd = lock_fd
        self._clock = clock

    # -- opening, locking, migrating ---------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: Path | str,
        *,
        mode: Mode = Mode.LOCKED,
        wait: float = 0.0,
        clock: Clock = wall_clock,
    ) -> Store:
        """Open the state file the way ``mode`` says (see ``Mode``).

        ``LOCKED`` spends up to ``wait`` seconds waiting for another rmcal process to finish,
        then raises ``StateLocked`` naming the lock file. ``clock`` stamps every row written.
        """
        path = Path(path)
        if mode is Mode.MEMORY or (mode is Mode.READ_ONLY and not path.exists()):
            store = cls(sqlite3.connect(":memory:", isolation_level=None), path, None, clock)
            store._migrate()
            return store
        if mode is Mode.READ_ONLY:
            _narrow_state_files(path)
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
            store = cls(conn, path, None, clock)
            store._check_version()
            return store
        try:
            private_dir(path.parent)
        except OSError as exc:
            raise StateError(f"cannot create the folder of the state file {path}: {exc}") from exc
        lock_fd = take_lock(path, wait)
        try:
            # Created owner-only before SQLite opens it: its WAL and shared-memory files take
            # the database file's mode, so all of them stay private.
            create_private_file(path)
            _narrow_state_files(path)
            conn = sqlite3.connect(path, isolation_level=None, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=NORMAL")
            store = cls(conn, path, lock_fd, clock)
            store._migrate()
        except sqlite3.DatabaseError as exc:
            release_lock(lock_fd)
            raise StateError(
                f"{path} is not a usable rmcal state file ({exc}); move it aside to start afresh "
                "(calendars keep every series; only history and the mail ledger are lost)"
            ) from exc
        except BaseException:
            release_lock(lock_fd)
            raise
        return store

    def _check_version(self) -> int:
        version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise StateError(
                f"{self.path} was written by a newer rmcal (schema {version}, this one knows "
                f"{SCHEMA_VERSION}); upgrade rmcal"
            )
        return version

    def _migrate(self) -> None:
        version = self._check_version()
        for number in range(version, SCHEMA_VERSION):
            with self.transaction():
                for statement in _statements(MIGRATIONS[number]):
                    self._conn.execute(statement)
                self._conn.execute(f"PRAGMA user_version = {number + 1}")

    def close(self) -> None:
        try:
            self._conn.close()
        finally:
            if self._lock_fd is not None:
                release_lock(self._lock_fd)
                self._lock_fd = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _now(self) -> str:
        return _stamp(self._clock())

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of a read-only query, as dicts: for tools over the whole file (export, forget)."""
        cursor = self._conn.execute(sql, tuple(args))
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    def copy_to(self, target: sqlite3.Connection) -> None:
        """Copy the whole database into ``target`` with SQLite's online backup API: a consistent
        snapshot even while another process writes (WAL), which a file copy is not."""
        self._conn.backup(target)

    # -- series cache --------------------------------------------------------------------------

    def put_series(self, row: SeriesRow) -> None:
        now = self._now()
        with self.transaction() as db:
            db.execute(
                """INSERT INTO series (key, cohort_id, pair_id, provider, provider_id,
                       fingerprint, status, created_at, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (key) DO UPDATE SET provider_id = excluded.provider_id,
                       fingerprint = excluded.fingerprint, status = excluded.status,
                       updated_at = excluded.updated_at""",
                (
                    row.key,
                    row.cohort_id,
                    row.pair_id,
                    row.provider,
                    row.provider_id,
                    row.fingerprint,
                    row.status,
                    now,
                    now,
                ),
            )

    def series_rows(self, cohort_id: str | None = None) -> list[SeriesRow]:
        sql = (
            "SELECT key, cohort_id, pair_id, provider, provider_id, fingerprint, status FROM series"
        )
        args: tuple[Any, ...] = ()
        if cohort_id is not None:
            sql += " WHERE cohort_id = ?"
            args = (cohort_id,)
        return [SeriesRow(*r) for r in self._conn.execute(sql + " ORDER BY key", args)]

    # -- mail ledger ---------------------------------------------------------------------------

    def mail(self, key: str) -> MailRow | None:
        row = self._conn.execute(
            f"SELECT {_MAIL_COLUMNS} FROM mail WHERE key = ?", (key,)
        ).fetchone()
        return _mail_row(row) if row else None

    def mail_rows(self, status: MailStatus | None = None) -> list[MailRow]:
        sql = f"SELECT {_MAIL_COLUMNS} FROM mail"
        args: tuple[Any, ...] = ()
        if status is not None:
            sql += " WHERE status = ?"
            args = (str(status),)
        rows = self._conn.execute(sql + " ORDER BY created_at, key", args)
        return [_mail_row(r) for r in rows]

    def mark_mail(
        self,
        key: str,
        status: MailStatus,
        *,
        kind: str | None = None,
        pair_id: str | None = None,
        recipients: Sequence[str] = (),
        subject: str = "",
        message_id: str | None = None,
        error: str | None = None,
    ) -> None:
        """Record a ledger transition; SENDING also counts an attempt. Committed on return."""
        now = self._now()
        attempt = 1 if status == MailStatus.SENDING else 0
        with self.transaction() as db:
            db.execute(
                """INSERT INTO mail (key, kind, status, pair_id, recipients, subject, message_id,
                       attempts, error, created_at, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (key) DO UPDATE SET status = excluded.status,
                       attempts = mail.attempts + excluded.attempts,
                       message_id = COALESCE(excluded.message_id, mail.message_id),
                       error = excluded.error, updated_at = excluded.updated_at""",
                (
                    key,
                    kind or key.split(":", 1)[0],
                    str(status),
                    pair_id,
                    ", ".join(recipients),
                    subject,
                    message_id,
                    attempt,
                    error,
                    now,
                    now,
                ),
            )

    # -- occurrence snapshots ------------------------------------------------------------------

    def add_snapshots(self, taken_at: datetime, records: Sequence[dict[str, Any]]) -> None:
        """Store one health reading per pair; ``records`` need cohort_id, pair_id, state."""
        stamp = _stamp(taken_at)
        with self.transaction() as db:
            db.executemany(
                """INSERT INTO snapshots (taken_at, cohort_id, pair_id, series_key, state, data)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                [
                    (
                        stamp,
                        r["cohort_id"],
                        r["pair_id"],
                        r.get("series_key"),
                        r["state"],
                        json.dumps(r, default=str, sort_keys=True),
                    )
                    for r in records
                ],
            )

    def snapshots(
        self, *, pair_id: str | None = None, before: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Stored readings, oldest first; ``before`` keeps those taken strictly earlier."""
        sql = "SELECT taken_at, data FROM snapshots WHERE 1=1"
        args: list[Any] = []
        if pair_id is not None:
            sql += " AND pair_id = ?"
            args.append(pair_id)
        if before is not None:
            sql += " AND taken_at < ?"
            args.append(_stamp(before))
        out = []
        for taken_at, data in self._conn.execute(sql + " ORDER BY taken_at, id", args):
            record = json.loads(data)
            record["taken_at"] = taken_at
            out.append(record)
        return out

    def latest_snapshots(self, before: datetime | None = None) -> dict[str, dict[str, Any]]:
        """The most recent reading per pair (optionally the most recent before a moment)."""
        latest: dict[str, dict[str, Any]] = {}
        for record in self.snapshots(before=before):
            latest[record["pair_id"]] = record
        return latest

    # -- provider key/value (sync tokens) -----------------------------------------------------

    def get(self, namespace: str, key: str) -> str | None:
        row = self._conn.execute(
            "SELECT value FROM kv WHERE namespace = ? AND key = ?", (namespace, key)
        ).fetchone()
        return row[0] if row else None

    def put(self, namespace: str, key: str, value: str | None) -> None:
        with self.transaction() as db:
            if value is None:
                db.execute("DELETE FROM kv WHERE namespace = ? AND key = ?", (namespace, key))
            else:
                db.execute(
                    """INSERT INTO kv (namespace, key, value, updated_at) VALUES (?, ?, ?, ?)
                       ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value,
                           updated_at = excluded.updated_at""",
                    (namespace, key, value, self._now()),
                )

    # -- imported feedback --------------------------------------------------------------------

    def put_feedback(self, rows: Sequence[FeedbackRow]) -> FeedbackStored:
        """Insert new answers and replace changed ones; answers already stored as they are
        stay untouched, so a re-import of the same export changes nothing and says so."""
        now = self._now()
        counts = {"new": 0, "updated": 0, "unchanged": 0}
        with self.transaction() as db:
            for r in rows:
                answers = (
                    r.rating,
                    None if r.recommend is None else int(r.recommend),
                    r.working,
                    r.awkward,
                    r.learned,
                )
                key = (r.pair_id, r.session, r.respondent.lower())
                stored = db.execute(
                    """SELECT rating, recommend, working, awkward, learned FROM feedback
                       WHERE pair_id = ? AND session = ? AND respondent = ?""",
                    key,
                ).fetchone()
                if stored is not None and tuple(stored) == answers:
                    counts["unchanged"] += 1
                    continue
                counts["new" if stored is None else "updated"] += 1
                db.execute(
                    """INSERT INTO feedback (pair_id, session, respondent, rating, recommend,
                           working, awkward, learned, source, imported_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                       ON CONFLICT (pair_id, session, respondent) DO UPDATE SET
                           rating = excluded.rating, recommend = excluded.recommend,
                           working = excluded.working, awkward = excluded.awkward,
                           learned = excluded.learned, source = excluded.source,
                           imported_at = excluded.imported_at""",
                    (*key, *answers, r.source, now),
                )
        return FeedbackStored(**counts)

    def feedback(self, pair_ids: Sequence[str] | None = None) -> list[FeedbackRow]:
        rows = self._conn.execute(
            """SELECT pair_id, session, respondent, rating, recommend, working, awkward, learned,
                      source FROM feedback ORDER BY pair_id, session, respondent"""
        ).fetchall()
        wanted = set(pair_ids) if pair_ids is not None else None
        return [
            FeedbackRow(
                pair_id=r[0],
                session=r[1],
                respondent=r[2],
                rating=r[3],
                recommend=None if r[4] is None else bool(r[4]),
                working=r[5],
                awkward=r[6],
                learned=r[7],
                source=r[8],
            )
            for r in rows
            if wanted is None or r[0] in wanted
        ]


_MAIL_COLUMNS = (
    "key, kind, status, pair_id, recipients, subject, message_id, attempts, error, "
    "created_at, updated_at"
)


def _mail_row(row: Sequence[Any]) -> MailRow:
    return MailRow(
        key=row[0],
        kind=row[1],
        status=MailStatus(row[2]),
        pair_id=row[3],
        recipients=row[4],
        subject=row[5],
        message_id=row[6],
        attempts=row[7],
        error=row[8],
        created_at=row[9],
        updated_at=row[10],
    )


STATE_SUFFIXES = ("", "-wal", "-shm", ".lock")  # the database, SQLite's WAL and index, rmcal's lock


def state_files(path: Path) -> list[Path]:
    """The files that together make up a state file (whether they exist or not)."""
    return [Path(str(path) + suffix) for suffix in STATE_SUFFIXES]


def _narrow_state_files(path: Path) -> None:
    """Warn about and fix any of the state's files that other users could read."""
    for part in state_files(path):
        narrow(part)


def remove_state(path: Path) -> None:
    """Delete a state file rmcal just created for a run that then failed on bad input."""
    for part in state_files(path):
        part.unlink(missing_ok=True)


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
