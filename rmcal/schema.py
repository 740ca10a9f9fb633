"""The state file's tables: one migration per schema version, applied in order by ``Store``.

Kept apart from ``rmcal.store`` so that what the file holds (and so what ``rmcal forget``
must reach, see docs/state.md) reads in one place. Never edit a released entry; append one.
"""

from __future__ import annotations

# The tables, in the order tools report them (``rmcal forget``, ``rmcal state backup``).
TABLES = ("series", "mail", "snapshots", "feedback", "kv")

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
