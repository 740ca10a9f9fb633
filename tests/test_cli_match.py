"""``rmcal match`` end to end, as the README walks an admin through it, then ``rmcal schedule``."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import icalendar
import pytest
import recurring_ical_events
from click.testing import CliRunner

from rmcal.cli import main
from rmcal.config import load_config
from rmcal.slots import window_problem
from tests.golden import check_golden

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-11-23T12:00:00+00:00"
PAIRS = "pairs-2027-autumn.csv"


@pytest.fixture
def programme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The README's example programme and people file, in a folder of their own (the cwd)."""
    for name in ("matching.yaml", "people.csv"):
        shutil.copy(ROOT / "examples" / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def rmcal(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def match(*extra: str, people: str = "people.csv") -> tuple[int, str, str]:
    return rmcal(
        "match", "-c", "matching.yaml", "--people", people, "--cohort", "2027-autumn", *extra,
    )  # fmt: skip


def test_the_readme_walk_matches_explains_and_schedules_every_pair(programme: Path) -> None:
    code, out, _ = match("--dry-run")
    assert code == 0
    check_golden("match-dry-run.txt", out)
    assert not (programme / PAIRS).exists()  # a dry run writes nothing

    code, out, _ = match()
    assert code == 0
    assert out.splitlines()[-1] == (
        "12 pairs, total score 56.00; 4 people unmatched. Wrote pairs-2027-autumn.csv. "
        "Next: rmcal schedule -c matching.yaml --cohort 2027-autumn --dry-run"
    )
    check_golden("match-pairs.csv", (programme / PAIRS).read_text())

    code, out, _ = rmcal("schedule", "-c", "matching.yaml", "--now", NOW)
    assert code == 0, out
    assert out.splitlines()[-1] == "14 pairs: 14 created."  # 2 spring pairs, 12 matched ones
    config = load_config(programme / "matching.yaml", now=None, force=True)
    autumn = config.cohort("2027-autumn")
    assert len(autumn.pairs) == 12
    # Every session of every matched pair lies inside both people's windows, as the calendar
    # holds it (expanded by recurring_ical_events, not by rmcal).
    by_email = {p.mentor.email + p.mentee.email: p for p in autumn.pairs}
    checked = 0
    for path in sorted((programme / "rmcal-local" / "calendars").glob("*.ics")):
        calendar = icalendar.Calendar.from_ical(path.read_bytes())
        event = next(iter(calendar.walk("VEVENT")))
        attendees = [str(a).removeprefix("mailto:").lower() for a in event.get("ATTENDEE")]
        pair = by_email.get(attendees[0] + attendees[1]) or by_email.get(
            attendees[1] + attendees[0]
        )
        if pair is None:
            continue
        for occurrence in recurring_ical_events.of(calendar).between((2027, 1, 1), (2028, 6, 1)):
            start = occurrence["DTSTART"].dt
            duration = occurrence["DTEND"].dt - start
            for person in pair.people:
                assert window_problem(person, pair.window_of(person), start, duration) is None
            checked += 1
    assert checked == 12 * 6


def test_a_person_s_own_days_reach_the_schedule(programme: Path) -> None:
    match()
    config = load_config(programme / "matching.yaml", now=None, force=True)
    (jasmine,) = [p for p in config.cohort("2027-autumn").pairs if p.mentor.name == "Jasmine Ortiz"]
    assert jasmine.mentor.window is not None and jasmine.mentor.window.days == {0, 1, 2}


def test_the_pairs_file_is_only_replaced_with_force(programme: Path) -> None:
    match()
    (programme / PAIRS).write_text("edited by hand\n")
    code, out, err = match()
    assert (code, out) == (2, "")
    assert err == (
        "rmcal: error: pairs-2027-autumn.csv: the pairs file already exists; "
        "use --force to replace it (its pairs may already be scheduled)\n"
    )
    assert (programme / PAIRS).read_text() == "edited by hand\n"
    assert match("--force")[0] == 0
    assert (programme / PAIRS).read_text().startswith("mentor_email,")
    assert not list(programme.glob(".pairs-*"))  # no temporary file left behind


def test_json_for_scripts(programme: Path) -> None:
    code, out, _ = match("--json", "--dry-run")
    assert code == 0
    data = json.loads(out)
    assert (data["cohort"], data["dry_run"], data["pairs_file"]) == ("2027-autumn", True, None)
    assert data["rules"]["min_overlap_hours"] == 1.5 and data["exact"]
    first = data["pairs"][0]
    assert set(first) == {
        "mentor", "mentee", "score", "terms", "shared_topics", "shared_hours_per_week", "reasons",
    }  # fmt: skip
    assert first["terms"] == {"topics": 1.0, "department": 1.0, "generation": 1.0, "overlap": 1.0}
    assert first["score"] == 6.0 and first["mentor"]["row"] > 1
    unmatched = {u["email"]: u["reason"] for u in data["unmatched"]}
    assert unmatched["mia.schmidt@northwind.example"] == "opted out"
    assert unmatched["olivia.harper@northwind.example"].startswith("no mentor with overlapping")
    assert data["total_score"] == 56.0


def test_the_same_input_gives_the_same_pairs(programme: Path) -> None:
    assert match("--dry-run") == match("--dry-run")
    # ... whatever the order of the rows.
    lines = (programme / "people.csv").read_text().splitlines()
    (programme / "shuffled.csv").write_text("\n".join([lines[0], *reversed(lines[1:])]) + "\n")
    first, second = (
        match("--json", "--dry-run"),
        match("--json", "--dry-run", people="shuffled.csv"),
    )
    assert json.loads(first[1])["summary"] == json.loads(second[1])["summary"]
    pick = [(p["mentor"]["email"], p["mentee"]["email"]) for p in json.loads(first[1])["pairs"]]
    again = [(p["mentor"]["email"], p["mentee"]["email"]) for p in json.loads(second[1])["pairs"]]
    assert pick == again


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t.replace("manager_email,languages", "manager,languages"),
            "people.csv:1: manager: unknown column 'manager'; did you mean 'manager_email'?",
        ),
        (
            lambda t: t.replace("Asia/Tokyo,,,mobile", "Asia/Tokio,,,mobile"),
            "people.csv:5: timezone: 'Asia/Tokio' is not an IANA time zone; "
            "did you mean 'Asia/Tokyo'?",
        ),
        (
            lambda t: t.replace(
                "James Whitaker,mentee,Europe/London,,,AI tools; career paths; "
                "data visualisation,Executive,",
                "James Whitaker,mentee,Europe/London,,,AI tools; career paths; "
                "data visualisation,Executive,priya.shah@northwind.example",
            ),
            "people.csv:12: manager_email: management cycle: james.whitaker@northwind.example -> "
            "priya.shah@northwind.example -> daniel.wright@northwind.example -> "
            "james.whitaker@northwind.example; each arrow points to a manager; "
            "fix the manager of one of them",
        ),
        (
            lambda t: t + "Robert.Hale@northwind.example,Robert Hale,mentor,,,,,,,,,,\n",
            "people.csv:29: email: 'robert.hale@northwind.example' appears twice (first on row 2); "
            "give each person one row",
        ),
    ],
    ids=["unknown column", "bad zone", "manager cycle", "duplicated e-mail"],
)
def test_bad_input_is_one_line_with_the_row_and_nothing_written(
    programme: Path,
    edit,
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    people = programme / "people.csv"
    people.write_text(edit(people.read_text()))
    code, out, err = match()
    assert (code, out, err) == (2, "", f"rmcal: error: {message}\n")
    assert not (programme / PAIRS).exists()


def test_a_cohort_without_a_pairs_file_needs_out(programme: Path) -> None:
    config = programme / "matching.yaml"
    config.write_text(
        config.read_text().replace("    pairs_csv: ./pairs-2027-autumn.csv", "    pairs: []")
    )
    code, _, err = match()
    assert code == 2
    assert err == (
        "rmcal: error: matching.yaml: cohort '2027-autumn' names no pairs_csv for rmcal match to "
        "write; add 'pairs_csv: ./pairs-2027-autumn.csv' to the cohort, or give --out FILE\n"
    )
    assert match("--out", "chosen.csv")[0] == 0
    assert (programme / "chosen.csv").read_text().startswith("mentor_email,mentor_name,")


def test_an_unknown_cohort_is_named(programme: Path) -> None:
    match()  # (before it exists, the autumn cohort's pairs file is what the load reports)
    code, _, err = rmcal(
        "match", "-c", "matching.yaml", "--people", "people.csv", "--cohort", "2027-winter"
    )
    assert code == 2
    assert err.startswith("rmcal: error: --cohort: no cohort '2027-winter'; cohorts in")


def test_without_the_solver_one_line_names_the_install(
    programme: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "scipy", None)
    code, out, err = match()
    assert (code, out) == (1, "")
    assert err == "rmcal: error: rmcal match needs scipy: pip install 'rmcal[match]'\n"
