"""A generated 20-pair cohort across five zones, for provider end-to-end runs through the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

ZONES = ["Europe/London", "America/New_York", "Asia/Kolkata", "Europe/Berlin", "Asia/Singapore"]
START = "2027-01-11"
NOW = "2026-11-23T12:00:00+00:00"


def write_config(
    folder: Path, provider: dict[str, Any], domain: str = "contoso.com", pairs: int = 20
) -> Path:
    """A programme of ``pairs`` pairs (mentor and mentee in neighbouring zones) for ``provider``."""
    people = []
    for n in range(pairs):
        mentor_zone = ZONES[n % len(ZONES)]
        mentee_zone = ZONES[(n + 1) % len(ZONES)] if n % 2 else mentor_zone
        if {mentor_zone, mentee_zone} == {"America/New_York", "Asia/Kolkata"}:
            mentee_zone = "Europe/London"
        people.append(
            {
                "mentor": {
                    "email": f"mentor{n}@{domain}",
                    "name": f"Mentor {n}",
                    "timezone": mentor_zone,
                },
                "mentee": {
                    "email": f"mentee{n}@{domain}",
                    "name": f"Mentee {n}",
                    "timezone": mentee_zone,
                },
                "focus": f"Topic {n}",
            }
        )
    config = {
        "programme": {
            "name": "Contoso Reverse Mentoring",
            "purpose": "Leaders learn how early-career colleagues work.",
            "organizer": {"email": f"rm@{domain}", "name": "Reverse Mentoring"},
            "timezone": "Europe/London",
            "leads": [{"email": f"lead@{domain}", "name": "Lead", "scope": "all"}],
        },
        "provider": provider,
        "state": "state.db",
        "defaults": {
            "cadence": "weekly",
            "sessions": 6,
            "duration": "45m",
            "window": {"days": "Mon-Fri", "hours": "08:00-18:00"},
        },
        "cohorts": [{"id": "2027-winter", "start": START, "pairs": people}],
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@dataclass
class FakeProbe:
    """What a provider's fake server lets the walk observe and provoke."""

    provider: str
    checks: int  # how many rows ``rmcal auth check`` prints for this provider
    events: Callable[[], int]  # series in the organizer's calendar
    sent: Callable[[], int]  # messages the fake accepted
    throttle: Callable[[], None]  # make the next few calls come back rate-limited
    book: Callable[[str, datetime, datetime], None]  # someone's other commitment, in the fake
    mail_keys: Callable[[], list[str]]  # X-Rmcal-Key of every message the fake accepted


Run = Callable[..., tuple[int, str]]


def walk_every_command(run: Run, config: str, folder: Path, fake: FakeProbe) -> None:
    """The issues' "done when" for a cloud provider, through the CLI: auth check, schedule,
    re-run, re-run after losing the state file while throttled, status, tick twice."""
    code, out = run("auth", "check", "-c", config)
    assert code == 0, out
    assert out.splitlines()[-1] == f"All {fake.checks} checks passed for provider {fake.provider}."

    code, out = run("schedule", "-c", config, "--now", NOW)
    assert code == 0, out
    assert out.splitlines()[-1] == "20 pairs: 20 created."
    assert fake.events() == 20

    code, out = run("schedule", "-c", config, "--now", NOW)
    assert out.splitlines()[-1] == "Nothing changed: 20 series already match the config."

    for leftover in folder.glob("state.db*"):
        leftover.unlink()
    fake.throttle()  # waited out, not fatal
    code, out = run("schedule", "-c", config, "--now", NOW)
    assert code == 0, out
    assert out.splitlines()[-1] == "Nothing changed: 20 series already match the config."
    assert fake.events() == 20

    code, out = run("status", "-c", config, "--now", "2027-01-20T12:00:00+00:00", "--json")
    assert code == 0, out
    assert len(json.loads(out)["pairs"]) == 20

    # Mentor 0 books a meeting over the pair's next session, after it was scheduled.
    code, out = run("status", "-c", config, "--now", "2027-01-12T12:00:00+00:00", "--json")
    pair0 = json.loads(out)["pairs"][0]
    session = datetime.fromisoformat(pair0["next_session"])
    fake.book("mentor0@" + config_domain(config), session, session + timedelta(hours=1))
    code, out = run("schedule", "-c", config, "--now", "2027-01-12T12:00:00+00:00")
    assert code == 0, out
    assert f"Mentor 0 / Mentee 0 (unchanged series):\n    {session:%a %Y-%m-%d}" in out

    code, out = run("tick", "-c", config, "--now", "2027-01-12T12:00:00+00:00")
    assert code == 0, out
    sent = fake.sent()
    assert sent > 0
    headsups = [k for k in fake.mail_keys() if k.startswith("headsup:")]
    assert len(headsups) == 1 and headsups[0].endswith(":mentor0@" + config_domain(config))
    assert "1 clash" in out
    code, out = run("tick", "-c", config, "--now", "2027-01-12T12:05:00+00:00")
    assert code == 0, out
    assert fake.sent() == sent  # exactly once, the heads-up included
    assert "clash watch: read once a day; next read after 2027-01-13 08:00 UTC" in out
    # The next day's read finds the same clash and does not tell it again.
    code, out = run("tick", "-c", config, "--now", "2027-01-13T09:00:00+00:00")
    assert code == 0, out
    assert [k for k in fake.mail_keys() if k.startswith("headsup:")] == headsups
    assert "1 clash, told earlier" in out


def config_domain(config: str) -> str:
    """The mail domain of the programme written by ``write_config``."""
    text = Path(config).read_text()
    return text.split("email: rm@", 1)[1].split()[0]
