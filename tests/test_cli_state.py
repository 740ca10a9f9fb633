"""``rmcal forget``, ``rmcal state export`` and ``rmcal state backup`` on the example programme,
as an admin runs them: after a schedule and a tick, with feedback imported."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from rmcal.cli import main
from rmcal.feedback import FeedbackRow
from rmcal.store import Mode, Store

ROOT = Path(__file__).resolve().parent.parent
SCHEDULED = "2026-11-23T12:00:00+00:00"  # the example cohorts start on Monday 30 November
TICKED = "2026-12-01T12:00:00+00:00"  # agendas, invitations and feedback requests are out
LATER = "2026-12-02T12:00:00+00:00"
ROBERT = "robert.hale@northwind.example"  # Priya Shah's mentee, first pair of the first cohort
SUSAN = "susan.park@northwind.example"


def rmcal(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


@pytest.fixture
def programme(tmp_path: Path) -> Path:
    config = tmp_path / "config.yaml"
    shutil.copy(ROOT / "config.example.yaml", config)
    assert rmcal("schedule", "-c", str(config), "--now", SCHEDULED)[0] == 0
    assert rmcal("tick", "-c", str(config), "--now", TICKED)[0] == 0
    with Store.open(tmp_path / "rmcal-state.db") as store:
        pairs = {row.pair_id for row in store.series_rows()}
        robert = next(p for p in pairs if "robert-hale" in p)
        susan = next(p for p in pairs if "susan-park" in p)
        store.put_feedback(
            [
                FeedbackRow(robert, 1, ROBERT, 5, True, "real examples", None, "AI", "f.csv"),
                FeedbackRow(
                    robert, 1, "priya.shah@northwind.example", 4, True, "x", None, None, "f.csv"
                ),
                FeedbackRow(susan, 1, SUSAN, 3, None, None, "late", None, "f.csv"),
            ]
        )
        store.put("google-people", "people/123", ROBERT)  # a provider cache naming him
    return config


def drop_robert(config: Path) -> None:
    data = yaml.safe_load(config.read_text())
    data["cohorts"][0]["pairs"].pop(0)
    config.write_text(yaml.safe_dump(data, sort_keys=False))


def rows(config: Path) -> dict[str, list[dict]]:
    with Store.open(config.parent / "rmcal-state.db", mode=Mode.READ_ONLY) as store:
        return {
            t: store.query(f"SELECT * FROM {t}")
            for t in ("series", "mail", "snapshots", "feedback", "kv")
        }


def mentions(table_rows: list[dict], *words: str) -> list[dict]:
    return [r for r in table_rows if any(w in json.dumps(r) for w in words)]


def test_forget_refuses_someone_the_config_still_names(programme: Path):
    before = rows(programme)
    code, out = rmcal("forget", "-c", str(programme), "--person", ROBERT)
    assert code == 2
    assert out.strip().endswith(
        f"cohorts[0].pairs[0]: {ROBERT} is still in the config (Priya Shah / Robert Hale, cohort "
        "2027-spring-atlantic); remove the pair first; otherwise the next run schedules and "
        "mails them again"
    )
    assert rows(programme) == before


def test_forget_refuses_a_lead_the_config_still_names(programme: Path):
    code, out = rmcal("forget", "-c", str(programme), "--person", "mei.chen@northwind.example")
    assert code == 2
    assert "programme.leads[1]: mei.chen@northwind.example is still a lead in the config" in out


def test_forget_needs_exactly_one_subject(programme: Path):
    assert rmcal("forget", "-c", str(programme))[0] == 2
    code, out = rmcal("forget", "-c", str(programme), "--person", ROBERT, "--cohort", "x")
    assert code == 2 and "name exactly one of --person EMAIL and --cohort ID" in out


def test_forget_a_person_deletes_every_row_about_them_and_nothing_else(programme: Path):
    drop_robert(programme)
    before = rows(programme)
    assert mentions(before["mail"], ROBERT) and mentions(before["kv"], ROBERT)
    code, out = rmcal(
        "forget", "-c", str(programme), "--person", ROBERT, "--dry-run", "--now", LATER
    )
    assert code == 0, out
    assert out.startswith(
        f"Would delete what rmcal keeps about person {ROBERT} (1 pair): 1 series, "
    )
    assert "1 of their series still run in the calendar (--end-series ends them" in out
    assert rows(programme) == before  # a dry run changes nothing

    code, out = rmcal("forget", "-c", str(programme), "--person", ROBERT, "--now", LATER)
    assert code == 0, out
    after = rows(programme)
    (pair,) = {r["pair_id"] for r in before["series"] if "robert-hale" in r["pair_id"]}
    for table, found in after.items():
        assert not mentions(found, ROBERT, pair), table
    # Everyone else's rows are untouched, Priya's answer about the pair went with the pair.
    for table in after:
        kept = [r for r in before[table] if not mentions([r], ROBERT, pair)]
        assert after[table] == kept, table
    assert [r["respondent"] for r in after["feedback"]] == [SUSAN]


def test_end_series_ends_their_series_through_the_plan(programme: Path):
    drop_robert(programme)
    code, out = rmcal(
        "forget", "-c", str(programme), "--person", ROBERT, "--end-series", "--json", "--now", LATER
    )
    assert code == 0, out
    report = json.loads(out)
    (ended,) = report["series"]
    assert ended["result"] == "ended" and ended["last"].startswith("2026-12-14")
    calendar = programme.parent / "rmcal-local" / "calendars" / f"{ended['series_key']}.ics"
    assert "UNTIL=20261214T" in calendar.read_text()
    code, out = rmcal(
        "forget", "-c", str(programme), "--person", ROBERT, "--end-series", "--now", LATER
    )
    assert code == 0 and "ended:" not in out  # ends with its next session now: nothing to do
    assert "0 series, 0 mail, 0 snapshots, 0 feedback, 0 kv rows" in out


def test_forget_a_cohort_after_it_left_the_config(programme: Path):
    data = yaml.safe_load(programme.read_text())
    data["cohorts"].pop(1)
    data["programme"]["leads"].pop(1)
    programme.write_text(yaml.safe_dump(data, sort_keys=False))
    before = rows(programme)
    apac = {r["pair_id"] for r in before["series"] if r["cohort_id"] == "2027-spring-apac"}
    assert len(apac) == 6
    code, out = rmcal(
        "forget", "-c", str(programme), "--cohort", "2027-spring-apac", "--now", LATER
    )
    assert code == 0, out
    assert out.startswith(
        "Deleted what rmcal keeps about cohort 2027-spring-apac (6 pairs): 6 series"
    )
    after = rows(programme)
    assert not [r for t in after.values() for r in t if r.get("pair_id") in apac]
    assert {r["cohort_id"] for r in after["series"]} == {"2027-spring-atlantic"}
    assert len(after["series"]) == 6


def test_export_hands_over_what_rmcal_keeps_about_a_person(programme: Path, tmp_path: Path):
    code, out = rmcal("state", "export", "-c", str(programme), "--person", ROBERT, "--now", LATER)
    assert code == 0, out
    data = json.loads(out)
    assert data["subject"] == {"person": ROBERT, "cohort": None}
    assert [s["title"] for s in data["calendar"]] == ["Reverse mentoring: Priya Shah & Robert Hale"]
    assert {r["respondent"] for r in data["state"]["feedback"]} == {
        ROBERT,
        "priya.shah@northwind.example",
    }
    assert all(
        ROBERT in r["recipients"] or r["pair_id"] in data["pairs"] for r in data["state"]["mail"]
    )
    assert data["state"]["kv"] == [
        {
            "namespace": "google-people",
            "key": "people/123",
            "updated_at": data["state"]["kv"][0]["updated_at"],
        }
    ]
    target = tmp_path / "robert.json"
    code, out = rmcal(
        "state",
        "export",
        "-c",
        str(programme),
        "--person",
        ROBERT,
        "-o",
        str(target),
        "--now",
        LATER,
    )
    assert code == 0 and json.loads(target.read_text()) == data
    if os.name == "posix":
        assert stat.S_IMODE(target.stat().st_mode) == 0o600


# -- backup ----------------------------------------------------------------------------------------


def test_backup_is_a_consistent_single_file_even_while_a_writer_is_mid_run(programme: Path):
    state = programme.parent / "rmcal-state.db"
    target = programme.parent / "backups" / "state-copy.db"
    with Store.open(state) as writer:  # a tick holding the lock, its rows still in the WAL
        writer.put("ns", "written-during-the-run", "yes")
        assert (programme.parent / "rmcal-state.db-wal").stat().st_size > 0
        code, out = rmcal("state", "backup", "-c", str(programme), str(target))
    assert code == 0, out
    assert out.startswith(f"Backed up {state} to {target} (")
    assert "schema 1: 12 series, " in out
    assert sorted(p.name for p in target.parent.iterdir()) == ["state-copy.db"]  # no -wal
    copy = sqlite3.connect(target)
    assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("SELECT value FROM kv WHERE key = 'written-during-the-run'").fetchone() == (
        "yes",
    )
    copy.close()
    if os.name == "posix":
        assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_backup_never_overwrites_by_accident(programme: Path):
    target = programme.parent / "copy.db"
    target.write_bytes(b"an older backup")
    code, out = rmcal("state", "backup", "-c", str(programme), str(target))
    assert code == 2 and "already exists; nothing was written" in out
    assert target.read_bytes() == b"an older backup"
    assert rmcal("state", "backup", "-c", str(programme), str(target), "--overwrite")[0] == 0
    assert target.read_bytes().startswith(b"SQLite format 3")
    code, out = rmcal(
        "state", "backup", "-c", str(programme), str(programme.parent / "rmcal-state.db")
    )
    assert code == 2 and "is the state file itself" in out


def test_backup_without_a_state_file_says_so(tmp_path: Path):
    shutil.copy(ROOT / "config.example.yaml", tmp_path / "config.yaml")
    code, out = rmcal(
        "state", "backup", "-c", str(tmp_path / "config.yaml"), str(tmp_path / "b.db")
    )
    assert code == 1
    assert "there is no state file at" in out and not (tmp_path / "b.db").exists()
