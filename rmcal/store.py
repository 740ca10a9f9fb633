"""The state file: one SQLite database per programme, schema-versioned, one writer at a time.

What it holds is rmcal's memory, never the truth about calendars: series rows are a cache of
what ``find_series`` reads back (losing them costs nothing), while the mail ledger, occurrence
snapshots and imported feedback are history that only lives here. Losing the file loses that
history and the ledger, never calendar data (see README, "The state file").

One writer at a time is enforced with an advisory ``flock`` on ``<state>.lock`` held for the
whole command, so a second ``rmcal tick`` from an overlapping cron run waits (``wait=``) or
stops with a clear message instead of racing the ledger.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rmcal.errors import StateError, StateLocked

# Each entry moves the schema one version up; never edit a released entry, append a new one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE series (
        key         TEXT PRIMARY KEY,
        cohort_id   TEXT NOT NULL,
        pair_id     TEXT NOT NULL,
        provider    TEXT NOT NULL,
        provider_id TEXT NOT NULL,
        fingerprint TEXT,
        status      TEXT NOT NULL DEFAULT 'active',
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL
    );
    CREATE INDEX series_by_cohort ON series (cohort_id);
    CREATE TABLE mail (
        key         TEXT PRIMARY KEY,
        kind        TEXT NOT NULL,
        status      TEXT NOT NULL,
        pair_id     TEXT,
        recipients  TEXT NOT NULL DEFAULT '',
        subject     TEXT NOT NULL DEFAULT '',
        message_id  TEXT,
        attempts    INTEGER NOT NULL DEFAULT 0,
        error       TEXT,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL
    );
    CREATE INDEX mail_by_status ON mail (status);
    CREATE TABLE snapshots (
        id          INTEGER PRIMARY KEY,
        taken_at    TEXT NOT NULL,
        cohort_id   TEXT NOT NULL,
        pair_id     TEXT NOT NULL,
        series_key  TEXT,
        state       TEXT NOT NULL,
        data        TEXT NOT NULL
    );
    CREATE INDEX snapshots_by_pair ON snapshots (pair_id, taken_at);
    CREATE TABLE kv (
        namespace   TEXT NOT NULL,
        key         TEXT NOT NULL,
        value       TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        PRIMARY KEY (namespace, key)
    );
    CREATE TABLE feedback (
        pair_id     TEXT NOT NULL,
        session     INTEGER NOT NULL,
        respondent  TEXT NOT NULL,
        rating      INTEGER,
        recommend   INTEGER,
        working     TEXT,
        awkward     TEXT,
        learned     TEXT,
        source      TEXT NOT NULL,
        imported_at TEXT NOT NULL,
        PRIMARY KEY (pair_id, session, respondent)
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

# Ledger states: a row is written as SENDING before the provider call and SENT after it, so a
# crash in between leaves SENDING behind for the next run to resolve (never a blind resend).
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
SKIPPED = "skipped"
UNCERTAIN = "uncertain"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


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
    status: str
    pair_id: str | None
    recipients: str
    subject: str
    message_id: str | None
    attempts: int
    error: str | None
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class FeedbackRow:
    pair_id: str
    session: int
    respondent: str
    rating: int | None
    recommend: bool | None
    working: str | None
    awkward: str | None
    learned: str | None
    source: str


class Store:
    """An open state file. Use ``Store.open(path)`` as a context manager."""

    def __init__(self, conn: sqlite3.Connection, path: Path, lock_fd: int | None) -> None:
        self._conn = conn
        self.path = path
        self._lock_fd = lock_fd

    # -- opening, locking, migrating ---------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str, *, wait: float = 0.0, readonly: bool = False) -> Store:
        """Open (creating and migrating) the state file and take the one-writer lock.

        ``wait`` seconds are spent waiting for another rmcal process to finish; then
        ``StateLocked`` names the lock file. ``readonly`` skips the lock and never creates.
        """
        path = Path(path)
        if readonly:
            if not path.exists():
                return cls._memory(path)
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
            store = cls(conn, path, None)
            store._check_version(readonly=True)
            return store
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(f"cannot create the folder of the state file {path}: {exc}") from exc
        lock_fd = _take_lock(path, wait)
        try:
            conn = sqlite3.connect(path, isolation_level=None, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=NORMAL")
            store = cls(conn, path, lock_fd)
            store._migrate()
        except sqlite3.DatabaseError as exc:
            _release_lock(lock_fd)
            raise StateError(
                f"{path} is not a usable rmcal state file ({exc}); move it aside to start afresh "
                "(calendars keep every series; only history and the mail ledger are lost)"
            ) from exc
        except BaseException:
            _release_lock(lock_fd)
            raise
        return store

    @classmethod
    def memory(cls) -> Store:
        """A throw-away store (dry runs, tests)."""
        return cls._memory(Path(":memory:"))

    @classmethod
    def _memory(cls, path: Path) -> Store:
        conn = sqlite3.connect(":memory:", isolation_level=None)
        store = cls(conn, path, None)
        store._migrate()
        return store

    def _check_version(self, readonly: bool = False) -> int:
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
                _release_lock(self._lock_fd)
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

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    # -- series cache --------------------------------------------------------------------------

    def put_series(self, row: SeriesRow) -> None:
        now = _now()
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
        return MailRow(*row) if row else None

    def mail_rows(self, status: str | None = None) -> list[MailRow]:
        sql = f"SELECT {_MAIL_COLUMNS} FROM mail"
        args: tuple[Any, ...] = ()
        if status is not None:
            sql += " WHERE status = ?"
            args = (status,)
        return [MailRow(*r) for r in self._conn.execute(sql + " ORDER BY created_at, key", args)]

    def mark_mail(
        self,
        key: str,
        status: str,
        *,
        kind: str | None = None,
        pair_id: str | None = None,
        recipients: Sequence[str] = (),
        subject: str = "",
        message_id: str | None = None,
        error: str | None = None,
    ) -> None:
        """Record a ledger transition; SENDING also counts an attempt. Committed on return."""
        now = _now()
        attempt = 1 if status == SENDING else 0
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
                    status,
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
        stamp = taken_at.astimezone(UTC).isoformat(timespec="seconds")
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
            args.append(before.astimezone(UTC).isoformat(timespec="seconds"))
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
                    (namespace, key, value, _now()),
                )

    # -- imported feedback --------------------------------------------------------------------

    def put_feedback(self, rows: Sequence[FeedbackRow]) -> int:
        """Insert or replace feedback answers (a re-import of the same export is harmless)."""
        now = _now()
        with self.transaction() as db:
            db.executemany(
                """INSERT INTO feedback (pair_id, session, respondent, rating, recommend, working,
                       awkward, learned, source, imported_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (pair_id, session, respondent) DO UPDATE SET
                       rating = excluded.rating, recommend = excluded.recommend,
                       working = excluded.working, awkward = excluded.awkward,
                       learned = excluded.learned, source = excluded.source,
                       imported_at = excluded.imported_at""",
                [
                    (
                        r.pair_id,
                        r.session,
                        r.respondent.lower(),
                        r.rating,
                        None if r.recommend is None else int(r.recommend),
                        r.working,
                        r.awkward,
                        r.learned,
                        r.source,
                        now,
                    )
                    for r in rows
                ],
            )
        return len(rows)

    def feedback(self, pair_ids: Sequence[str] | None = None) -> list[FeedbackRow]:
        rows = self._conn.execute(
            """SELECT pair_id, session, respondent, rating, recommend, working, awkward, learned,
                      source FROM feedback ORDER BY pair_id, session, respondent"""
        ).fetchall()
        wanted = set(pair_ids) if pair_ids is not None else None
        return [
            FeedbackRow(
                r[0], r[1], r[2], r[3], None if r[4] is None else bool(r[4]), r[5], r[6], r[7], r[8]
            )
            for r in rows
            if wanted is None or r[0] in wanted
        ]


_MAIL_COLUMNS = (
    "key, kind, status, pair_id, recipients, subject, message_id, attempts, error, "
    "created_at, updated_at"
)


def remove_state(path: Path) -> None:
    """Delete a state file rmcal just created for a run that then failed on bad input."""
    for suffix in ("", "-wal", "-shm", ".lock"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _take_lock(path: Path, wait: float) -> int:
    lock_path = _lock_path(path)
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StateError(f"cannot open the lock file {lock_path}: {exc}") from exc
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = _read_holder(fd)
                os.close(fd)
                raise StateLocked(
                    f"another rmcal process{holder} is using {path}; "
                    "wait for it to finish (or pass --wait SECONDS)"
                ) from None
            time.sleep(0.1)
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()} {_now()}\n".encode())
    return fd


def _read_holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 200).decode().split()
    except OSError:
        return ""
    return f" (pid {text[0]}, since {text[1]})" if len(text) >= 2 else ""


def _release_lock(fd: int) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
