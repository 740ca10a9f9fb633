"""A generated 20-pair cohort across five zones, for provider end-to-end runs through the CLI."""

from __future__ import annotations

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
