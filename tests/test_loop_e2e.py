"""The issue's "Done when", end to end on the local provider, through the real commands.

Schedule the example config, edit the ICS files to decline one session and cancel another,
run ``rmcal tick --now ...`` twice a day across six simulated weeks (the 24-hour agenda window
always holds a tick), then check:

* the outbox holds exactly the expected agenda, feedback, nudge and digest e-mails, none twice
  (the expectation is computed from the .ics files by an independent expander,
  ``recurring_ical_events``, not by rmcal);
* ``rmcal status --json`` classifies every pair (mid-way and at the end);
* ``rmcal digest --preview`` shows the heatmap and the wins.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default as DEFAULT_POLICY
from pathlib import Path
from typing import Any

import icalendar
import pytest
import recurring_ical_events
from click.testing import CliRunner

from rmcal.cli import main
from rmcal.config import load_config
from rmcal.demo import example_config, prepare
from rmcal.model import Config
from tests.golden import check_golden
from tests.scenes import cancel_session, decline_session, series_file

SCHEDULE_AT = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)  # a week before the cohorts start
END = SCHEDULE_AT + timedelta(weeks=6)
STEP = timedelta(hours=12)
AGENDA_LEAD = timedelta(hours=24)
FEEDBACK_DELAY = timedelta(hours=1)


def invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def mentor(config: Config, email: str) -> Any:
    return next(p for p in config.pairs if p.mentor.email == email)


def expected_keys(calendars: Path, last_tick: datetime) -> set[str]:
    """Agenda and feedback keys the calendar files call for, by an independent expander."""
    keys = set()
    for path in sorted(calendars.glob("*.ics")):
        calendar = icalendar.Calendar.from_ical(path.read_bytes())
        between = recurring_ical_events.of(calendar).between(
            SCHEDULE_AT, last_tick + timedelta(days=2)
        )
        for event in between:
            start = event["DTSTART"].dt
            original = event.get("RECURRENCE-ID", event["DTSTART"]).dt
            stamp = original.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            attendees = event.get("ATTENDEE", [])
            attendees = attendees if isinstance(attendees, list) else [attendees]
            declined = any(a.params.get("PARTSTAT") == "DECLINED" for a in attendees)
            if str(event.get("STATUS", "")).upper() == "CANCELLED" or declined:
                continue
            if start - AGENDA_LEAD <= last_tick:
                keys.add(f"agenda:{path.stem}:{stamp}")
            if event["DTEND"].dt + FEEDBACK_DELAY <= last_tick:
                keys.add(f"feedback:{path.stem}:{stamp}")
    return keys


def outbox_keys(outbox: Path) -> list[str]:
    keys = []
    for path in sorted(outbox.glob("*.eml")):
        msg = message_from_bytes(path.read_bytes(), policy=DEFAULT_POLICY)
        key = str(msg["X-Rmcal-Key"])
        if not key.startswith("invite"):
            keys.append(key)
    return keys


def status_json(config_path: Path, now: datetime) -> dict[str, Any]:
    result = invoke("status", "-c", str(config_path), "--now", now.isoformat(), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Schedule, edit the files, tick through six weeks; keep what the assertions need."""
    folder = tmp_path_factory.mktemp("e2e")
    config_path = prepare(folder, example_config())
    scheduled = invoke("schedule", "-c", str(config_path), "--now", SCHEDULE_AT.isoformat())
    assert scheduled.exit_code == 0, scheduled.output
    config = load_config(config_path, force=True)

    # People edit their calendars: Robert declines session 2 with Priya; the organizer
    # cancels session 3 of Jasmine and Klaus (EXDATE).
    priya = mentor(config, "priya.shah@northwind.example")
    jasmine = mentor(config, "jasmine.ortiz@northwind.example")
    decline_session(series_file(config, priya), 2, priya.mentee.email)
    cancel_session(series_file(config, jasmine), 3, how="exdate")

    midway: dict[str, Any] = {}
    moment = SCHEDULE_AT
    while moment <= END:
        result = invoke("tick", "-c", str(config_path), "--now", moment.isoformat())
        assert result.exit_code == 0, result.output
        if moment == datetime(2027, 1, 26, 9, 0, tzinfo=UTC):
            midway = status_json(config_path, moment)
        moment += STEP
    calendars = Path(config.provider.settings["folder"]) / "calendars"
    return {
        "folder": folder,
        "config_path": config_path,
        "config": config,
        "calendars": calendars,
        "outbox": calendars.parent / "outbox",
        "last_tick": moment - STEP,
        "midway": midway,
        "priya": priya,
        "jasmine": jasmine,
    }


def test_the_outbox_holds_exactly_the_expected_messages_none_twice(run: dict[str, Any]) -> None:
    keys = outbox_keys(run["outbox"])
    assert len(keys) == len(set(keys)), [k for k, n in Counter(keys).items() if n > 1]
    config: Config = run["config"]
    priya, jasmine = run["priya"], run["jasmine"]
    expected = expected_keys(run["calendars"], run["last_tick"])
    expected |= {
        f"nudge:{priya.id}:at-risk:2027-01-25",  # Robert declined session 2 (Mon 25 Jan)
        f"nudge:{jasmine.id}:at-risk:2027-02-08",  # session 3 cancelled (Mon 8 Feb)
    }
    expected |= {
        f"digest:{lead.email}:2027-W{week:02d}"
        for lead in config.programme.leads
        for week in range(1, 8)  # Mondays 4 Jan ... 15 Feb
    }
    assert set(keys) == expected
    kinds = Counter(k.split(":")[0] for k in keys)
    # 38 sessions by the last tick, less one declined and one cancelled, each with its agenda
    # and its feedback; 14 digests: 2 leads x weeks 1-7.
    assert kinds == Counter({"agenda": 36, "feedback": 36, "digest": 14, "nudge": 2})


def test_no_agenda_or_feedback_for_the_declined_and_the_cancelled_session(
    run: dict[str, Any],
) -> None:
    keys = outbox_keys(run["outbox"])
    config: Config = run["config"]
    declined = series_file(config, run["priya"]).stem + ":2027-01-25T14:00:00Z"
    cancelled = series_file(config, run["jasmine"]).stem + ":2027-02-08T14:00:00Z"
    for kind in ("agenda", "feedback"):
        assert f"{kind}:{declined}" not in keys
        assert f"{kind}:{cancelled}" not in keys
    with_priya = [k for k in keys if series_file(config, run["priya"]).stem in k]
    assert f"agenda:{series_file(config, run['priya']).stem}:2027-02-08T14:00:00Z" in with_priya


def test_status_json_classifies_every_pair(run: dict[str, Any]) -> None:
    midway = {p["mentor"]: p for p in run["midway"]["pairs"]}
    assert midway["Priya Shah"]["state"] == "at risk"
    assert midway["Priya Shah"]["last_miss_reason"] == "declined by mentee"
    assert run["midway"]["summary"] == "12 pairs: 11 on track, 1 at risk"

    final = status_json(run["config_path"], END)
    pairs = {p["mentor"]: p for p in final["pairs"]}
    assert final["summary"] == "12 pairs: 11 on track, 1 at risk"
    assert pairs["Jasmine Ortiz"]["state"] == "at risk"
    assert pairs["Jasmine Ortiz"]["last_miss_reason"] == "cancelled"
    assert (pairs["Jasmine Ortiz"]["periods_held"], pairs["Jasmine Ortiz"]["periods_due"]) == (2, 3)
    assert pairs["Priya Shah"]["state"] == "on track"  # held session 3 after the decline
    assert (pairs["Priya Shah"]["periods_held"], pairs["Priya Shah"]["periods_due"]) == (2, 3)
    assert pairs["Priya Shah"]["periods"] == "HMH..."
    # Every other pair held every session so far; the weekly one has held six of eight.
    for name, pair in pairs.items():
        if name not in {"Jasmine Ortiz", "Priya Shah"}:
            assert pair["state"] == "on track", name
            assert pair["periods_held"] == pair["periods_due"] > 0, name
            assert pair["sessions_held"] == pair["periods_held"], name
    assert {p["unit"] for p in pairs.values()} == {"fortnight", "month", "week"}
    assert (pairs["Daniel Ng"]["unit"], pairs["Yuki Tanaka"]["unit"]) == ("week", "month")
    daniel = pairs["Daniel Ng"]
    assert (daniel["periods_held"], daniel["periods_planned"]) == (6, 8)
    assert (daniel["sessions_held"], daniel["sessions_planned"]) == (6, 8)
    # Every session of every pair, with what became of it: Priya's declined one by its slot.
    declined = pairs["Priya Shah"]["sessions"][1]
    assert (declined["number"], declined["state"], declined["reason"]) == (
        2,
        "missed",
        "declined by mentee",
    )
    assert declined["declined_by"] == ["mentee"]
    assert datetime.fromisoformat(declined["original_start"]) == datetime(
        2027, 1, 25, 14, 0, tzinfo=UTC
    )
    assert sum(len(p["sessions"]) for p in final["pairs"]) == 72  # 10 pairs x 6, 4 + 8


def test_status_table_and_filters(run: dict[str, Any]) -> None:
    result = invoke("status", "-c", str(run["config_path"]), "--now", END.isoformat())
    assert result.exit_code == 0, result.output
    assert "2027-spring-atlantic: 6 pairs: 5 on track, 1 at risk" in result.output
    assert (
        "12 pairs: 11 on track, 1 at risk (times in each mentee's zone; --tz ZONE for one zone)"
    ) in result.output
    check_golden("status.txt", result.output)
    lead = invoke(
        "status", "-c", str(run["config_path"]), "--now", END.isoformat(), "--json",
        "--lead", "mei.chen@northwind.example",
    )  # fmt: skip
    cohorts = {p["cohort"] for p in json.loads(lead.output)["pairs"]}
    assert cohorts == {"2027-spring-apac"}
    csv_out = invoke(
        "status", "-c", str(run["config_path"]), "--now", END.isoformat(), "--csv",
        "--cohort", "2027-spring-atlantic",
    )  # fmt: skip
    lines = csv_out.output.splitlines()
    assert lines[0].startswith("cohort,pair,mentor,mentor_email,mentee") and len(lines) == 7
    per_session = invoke(
        "status", "-c", str(run["config_path"]), "--now", END.isoformat(), "--csv",
        "--sessions", "--cohort", "2027-spring-atlantic",
    )  # fmt: skip
    rows = per_session.output.splitlines()
    assert rows[0].startswith("cohort,pair,mentor,mentee,number,original_start,start,end")
    assert len(rows) == 1 + 6 * 6  # six pairs, six sessions each


def test_digest_preview_shows_the_heatmap_and_the_wins(run: dict[str, Any]) -> None:
    target = run["folder"] / "preview.html"
    result = invoke(
        "digest", "-c", str(run["config_path"]), "--now", END.isoformat(),
        "--preview", str(target), "--lead", "amara.okafor@northwind.example",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    html = target.read_text()
    assert "Cadence heatmap" in html
    assert html.count('bgcolor="#2f9e44"') >= 12  # held cells (plus the legend)
    assert html.count('bgcolor="#e03131"') == 3  # Priya's and Jasmine's misses, and the legend
    assert "Wins to celebrate" in html
    assert "halfway: 3 of 6 fortnights held" in html
    assert "3 fortnights in a row held" in html
    assert "Jasmine Ortiz &amp; Klaus Wagner" in html
    assert "Wei Ling Tan" not in html  # Mei's cohort, not Amara's


def test_feedback_import_feeds_the_digest(run: dict[str, Any], tmp_path: Path) -> None:
    csv_file = tmp_path / "answers.csv"
    csv_file.write_text(
        "Timestamp,Email Address,Pair,Session,Rating (1-5),Would you recommend it?\n"
        f"2027/01/12 10:00:00,priya.shah@northwind.example,{run['priya'].id},1,5,Yes\n"
        f"2027/01/12 11:00:00,robert.hale@northwind.example,{run['priya'].id},1,4,Yes\n"
        f"2027/01/12 12:00:00,klaus.wagner@northwind.example,{run['jasmine'].id},1,3,No\n"
    )
    imported = invoke("feedback", "import", str(csv_file), "-c", str(run["config_path"]))
    assert imported.exit_code == 0, imported.output
    target = tmp_path / "preview.html"
    invoke(
        "digest", "-c", str(run["config_path"]), "--now", END.isoformat(),
        "--preview", str(target), "--lead", "amara.okafor@northwind.example",
    )  # fmt: skip
    html = target.read_text()
    assert "4.0<span" in html and "67%" in html and "of 3 would recommend it" in html


def test_digest_to_an_address_sends_once_through_the_provider(run: dict[str, Any]) -> None:
    before = set(outbox_keys(run["outbox"]))
    result = invoke(
        "digest", "-c", str(run["config_path"]), "--now", END.isoformat(),
        "--to", "admin@northwind.example",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (new,) = set(outbox_keys(run["outbox"])) - before
    assert new.startswith("digest-preview:amara.okafor@northwind.example:2027-W07:")


def test_a_tick_after_the_run_has_nothing_left_to_send(run: dict[str, Any]) -> None:
    result = invoke("tick", "-c", str(run["config_path"]), "--now", run["last_tick"].isoformat())
    assert result.exit_code == 0 and "nothing due" in result.output
    dry = invoke("tick", "-c", str(run["config_path"]), "--now", END.isoformat(), "--dry-run")
    assert dry.exit_code == 0 and "(dry run)" in dry.output
