"""The state file: real SQLite on disk, migrations, one writer at a time, ledger semantics."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rmcal.errors import StateError, StateLocked
from rmcal.feedback import FeedbackRow
from rmcal.store import (
    SCHEMA_VERSION,
    MailStatus,
    Mode,
    SeriesRow,
    Store,
    remove_state,
    state_files,
)

SENDING, SENT = MailStatus.SENDING, MailStatus.SENT


@pytest.fixture
def store(tmp_path: Path):
    opened = Store.open(tmp_path / "state.db")
    yield opened
    opened.close()


def test_a_new_file_is_migrated_to_the_current_schema_in_wal_mode(tmp_path: Path):
    with Store.open(tmp_path / "state.db") as store:
        assert store.schema_version == SCHEMA_VERSION
    conn = sqlite3.connect(tmp_path / "state.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"series", "mail", "snapshots", "kv", "feedback"} <= tables


def test_a_file_from_a_newer_rmcal_is_refused(tmp_path: Path):
    path = tmp_path / "state.db"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(StateError, match="written by a newer rmcal"):
        Store.open(path)


def test_a_file_that_is_not_sqlite_gets_a_clear_message(tmp_path: Path):
    path = tmp_path / "state.db"
    path.write_text("not a database, just text " * 100)
    with pytest.raises(StateError, match="is not a usable rmcal state file"):
        Store.open(path)


def test_a_second_process_is_told_who_holds_the_file(tmp_path: Path, store: Store):
    script = (
        "import sys\nfrom rmcal.store import Store\nfrom rmcal.errors import StateLocked\n"
        "try:\n    Store.open(sys.argv[1])\nexcept StateLocked as e:\n    print(e)\n"
        "    sys.exit(7)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, str(store.path)], capture_output=True, text=True, check=False
    )
    assert run.returncode == 7, run.stderr
    assert run.stdout.startswith("another rmcal process (pid ")
    assert "wait for it to finish (or pass --wait SECONDS)" in run.stdout


def test_the_lock_is_released_on_close(tmp_path: Path):
    Store.open(tmp_path / "state.db").close()
    Store.open(tmp_path / "state.db").close()


def test_waiting_gives_up_with_state_locked(tmp_path: Path, store: Store):
    with pytest.raises(StateLocked):
        Store.open(store.path, wait=0.3)


def test_series_rows_are_a_cache_keyed_by_series_key(store: Store):
    row = SeriesRow("rmabc", "c1", "p1", "local", "id-1", "f1", "active")
    store.put_series(row)
    store.put_series(SeriesRow("rmabc", "c1", "p1", "local", "id-2", "f2", "ended"))
    assert store.series_rows("c1") == [
        SeriesRow("rmabc", "c1", "p1", "local", "id-2", "f2", "ended")
    ]
    assert store.series_rows("other") == []


def test_ledger_counts_attempts_and_keeps_the_first_message_id(store: Store):
    store.mark_mail(
        "agenda:k:1",
        SENDING,
        pair_id="p1",
        recipients=["a@x", "b@x"],
        subject="Agenda",
        message_id="<m1@x>",
    )
    store.mark_mail("agenda:k:1", SENDING)
    store.mark_mail("agenda:k:1", SENT)
    row = store.mail("agenda:k:1")
    assert row is not None
    assert (row.kind, row.status, row.attempts) == ("agenda", SENT, 2)
    assert (row.recipients, row.message_id) == ("a@x, b@x", "<m1@x>")
    assert [r.key for r in store.mail_rows(SENT)] == ["agenda:k:1"]
    assert store.mail("nothing") is None


def test_snapshots_give_the_latest_reading_before_a_moment(store: Store):
    monday = datetime(2027, 1, 18, 8, tzinfo=UTC)
    later = datetime(2027, 1, 25, 8, tzinfo=UTC)
    store.add_snapshots(monday, [{"cohort_id": "c", "pair_id": "p", "state": "on_track"}])
    store.add_snapshots(later, [{"cohort_id": "c", "pair_id": "p", "state": "at_risk"}])
    assert store.latest_snapshots()["p"]["state"] == "at_risk"
    assert store.latest_snapshots(before=later)["p"]["state"] == "on_track"
    assert [s["state"] for s in store.snapshots(pair_id="p")] == ["on_track", "at_risk"]


def test_key_value_round_trip_and_delete(store: Store):
    store.put("google", "sync", "token-1")
    store.put("google", "sync", "token-2")
    assert store.get("google", "sync") == "token-2"
    store.put("google", "sync", None)
    assert store.get("google", "sync") is None


def test_feedback_reimport_replaces_instead_of_duplicating(store: Store):
    row = FeedbackRow("p1", 2, "Ana@X.com", 4, True, "pace", "video", "prompts", "f.csv:3")
    store.put_feedback([row])
    store.put_feedback([FeedbackRow("p1", 2, "ana@x.com", 5, None, None, None, None, "f.csv:9")])
    (saved,) = store.feedback(["p1"])
    assert (saved.respondent, saved.rating, saved.recommend, saved.source) == (
        "ana@x.com",
        5,
        None,
        "f.csv:9",
    )
    assert store.feedback(["p2"]) == []


def test_readonly_open_of_a_missing_file_creates_nothing(tmp_path: Path):
    store = Store.open(tmp_path / "absent.db", mode=Mode.READ_ONLY)
    assert store.mail_rows() == []
    store.close()
    assert not (tmp_path / "absent.db").exists()


def test_remove_state_deletes_the_file_and_its_companions(tmp_path: Path):
    path = tmp_path / "state.db"
    Store.open(path).close()
    remove_state(path)
    assert list(tmp_path.iterdir()) == []


def test_every_row_is_stamped_by_the_injected_clock(tmp_path: Path):
    moment = datetime(2027, 1, 13, 17, 0, 5, tzinfo=UTC)
    with Store.open(tmp_path / "state.db", clock=lambda: moment) as store:
        store.mark_mail("agenda:k:1", SENDING)
        store.put("google", "sync", "token")
        store.put_series(SeriesRow("rmabc", "c1", "p1", "local", "id-1", None, "active"))
        store.put_feedback([FeedbackRow("p1", 1, "a@x", 5, None, None, None, None, "f.csv")])
        row = store.mail("agenda:k:1")
    assert row is not None and row.created_at == row.updated_at == "2027-01-13T17:00:05+00:00"
    conn = sqlite3.connect(tmp_path / "state.db")
    stamps = {
        conn.execute("SELECT updated_at FROM kv").fetchone()[0],
        conn.execute("SELECT created_at FROM series").fetchone()[0],
        conn.execute("SELECT imported_at FROM feedback").fetchone()[0],
    }
    assert stamps == {"2027-01-13T17:00:05+00:00"}


def test_a_memory_store_is_migrated_and_leaves_no_file(tmp_path: Path):
    with Store.open(tmp_path / "state.db", mode=Mode.MEMORY) as store:
        assert store.schema_version == SCHEMA_VERSION
        store.mark_mail("agenda:k:1", SENT)
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_store_takes_no_lock(tmp_path: Path, store: Store):
    with Store.open(store.path, mode=Mode.READ_ONLY) as reader:
        assert reader.mail_rows() == []


# -- owner-only files ------------------------------------------------------------------------------

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX only")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@posix_only
def test_the_state_file_and_its_companions_are_created_owner_only(tmp_path: Path):
    old = os.umask(0o022)  # the usual umask, which makes plain new files world-readable
    try:
        with Store.open(tmp_path / "new" / "state.db") as store:
            store.put("ns", "k", "v")  # the WAL and its index exist while the store is open
            files = state_files(store.path)
            assert all(f.exists() for f in files), files
            assert {f.name: _mode(f) for f in files} == dict.fromkeys(
                ("state.db", "state.db-wal", "state.db-shm", "state.db.lock"), 0o600
            )
    finally:
        os.umask(old)
    assert _mode(tmp_path / "new") == 0o700


@posix_only
def test_a_wider_state_file_is_narrowed_with_a_warning(tmp_path: Path, caplog):
    path = tmp_path / "state.db"
    Store.open(path).close()
    for part in state_files(path):
        if part.exists():
            part.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="rmcal"), Store.open(path):
        pass
    assert _mode(path) == 0o600
    assert _mode(tmp_path / "state.db.lock") == 0o600
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert f"{path} could be read by other users (mode 0644); rmcal made it owner-only (0600)" in (
        warnings
    )


@posix_only
def test_a_read_only_open_narrows_a_wider_state_file_too(tmp_path: Path, caplog):
    path = tmp_path / "state.db"
    Store.open(path).close()
    path.chmod(0o640)
    with caplog.at_level(logging.WARNING, logger="rmcal"):
        Store.open(path, mode=Mode.READ_ONLY).close()
    assert _mode(path) == 0o600
    assert "could be read by other users (mode 0640)" in caplog.text
