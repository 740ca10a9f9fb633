"""The benchmark's programme: N pairs in eight zones, 26 weekly sessions each.

Shaped like the cohorts issue 14 measured: people in 6-10 zones, 26 weekly 45-minute sessions,
windows of Monday to Friday 08:00-18:00 local; mentor and mentee of a pair sit in neighbouring
zones so that their windows overlap. Each person is in one pair, so everyone's free/busy is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ZONES = (
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Europe/Madrid",
    "Africa/Johannesburg",
)
# Pairs whose zones lie too far apart for a shared hour in Mon-Fri 08:00-18:00.
NEIGHBOUR = {
    "Europe/London": "Europe/Berlin",
    "Europe/Berlin": "Asia/Kolkata",
    "America/New_York": "Europe/London",
    "America/Chicago": "America/New_York",
    "Asia/Kolkata": "Asia/Singapore",
    "Asia/Singapore": "Asia/Kolkata",
    "Europe/Madrid": "Africa/Johannesburg",
    "Africa/Johannesburg": "Europe/London",
}
DOMAIN = "contoso.com"
ORGANIZER = f"rm@{DOMAIN}"
LEAD = f"lead@{DOMAIN}"
COHORT_START = "2027-01-11"  # a Monday
SESSIONS = 26
INLINE_PAIRS = 2_000  # pairs written in the YAML; more go to an HR export (pairs.csv)
SCHEDULE_NOW = "2026-11-23T12:00:00+00:00"  # schedule runs seven weeks before the start
QUIET_NOW = "2027-01-04T12:00:00+00:00"  # a week before the first session: nothing is due
DUE_NOW = "2027-01-11T00:05:00+00:00"  # every Monday first session is within the agenda lead


def people(pairs: int) -> list[tuple[str, str, str, str]]:
    """(mentor e-mail, mentor zone, mentee e-mail, mentee zone) for each pair."""
    out = []
    for n in range(pairs):
        zone = ZONES[n % len(ZONES)]
        out.append((f"mentor{n}@{DOMAIN}", zone, f"mentee{n}@{DOMAIN}", NEIGHBOUR[zone]))
    return out


def write_config(folder: Path, provider: dict[str, Any], pairs: int) -> Path:
    """The programme's YAML for ``provider`` in ``folder`` (state beside it).

    Up to ``INLINE_PAIRS`` pairs are written in the YAML; a larger programme lists them in an
    HR export (``pairs.csv``), as the README's input limits advise (a config file is at most
    1 MB, which 10,000 pairs written out in YAML are not).
    """
    everyone = people(pairs)
    cohort: dict[str, Any] = {"id": "2027-bench", "start": COHORT_START}
    if pairs <= INLINE_PAIRS:
        cohort["pairs"] = [
            {
                "mentor": {"email": mentor, "name": f"Mentor {n}", "timezone": mentor_zone},
                "mentee": {"email": mentee, "name": f"Mentee {n}", "timezone": mentee_zone},
            }
            for n, (mentor, mentor_zone, mentee, mentee_zone) in enumerate(everyone)
        ]
    else:
        rows = ["mentor_email,mentor_name,mentor_timezone,mentee_email,mentee_name,mentee_timezone"]
        rows += [
            f"{mentor},Mentor {n},{mentor_zone},{mentee},Mentee {n},{mentee_zone}"
            for n, (mentor, mentor_zone, mentee, mentee_zone) in enumerate(everyone)
        ]
        (folder / "pairs.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        cohort["pairs_csv"] = "pairs.csv"
    config = {
        "programme": {
            "name": "Contoso Reverse Mentoring",
            "purpose": "Leaders learn how early-career colleagues work.",
            "organizer": {"email": ORGANIZER, "name": "Reverse Mentoring"},
            "timezone": "Europe/London",
            "leads": [{"email": LEAD, "name": "Lead", "scope": "all"}],
        },
        "provider": provider,
        "state": "state.db",
        "defaults": {
            "cadence": "weekly",
            "sessions": SESSIONS,
            "duration": "45m",
            "window": {"days": "Mon-Fri", "hours": "08:00-18:00"},
        },
        "cohorts": [cohort],
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
