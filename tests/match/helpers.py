"""Small builders for the ``rmcal.match`` tests: a cohort, people, a config around them."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from rmcal.match.people import Participant, People
from rmcal.model import (
    Cadence,
    Cohort,
    Config,
    MatchRules,
    Organizer,
    Pair,
    Programme,
    ProviderConfig,
    Settings,
    Window,
)

ROOT = Path(__file__).resolve().parent.parent.parent
PEOPLE = ROOT / "tests" / "fixtures" / "people"
NINE_TO_FIVE = Window(frozenset(range(5)), 9 * 60, 17 * 60)
# An autumn cohort: six fortnightly sessions across both the European (Oct 31) and the
# American (Nov 7) end of summer time, so the weeks when London and New York are 4 hours
# apart instead of 5 fall inside the series.
AUTUMN = date(2027, 9, 27)
SETTINGS = Settings(cadence=Cadence("weekly", 2, None, "every 2 weeks"), sessions=6)


def cohort(
    cohort_id: str = "autumn",
    *,
    start: date = AUTUMN,
    settings: Settings = SETTINGS,
    pairs: tuple[Pair, ...] = (),
) -> Cohort:
    return Cohort(cohort_id, start, pairs, settings)


def person(
    name: str,
    role: str,
    zone: str = "Europe/London",
    *,
    window: Window = NINE_TO_FIVE,
    **fields: object,
) -> Participant:
    """A participant named ``name`` (e-mail ``name@x.example``), 9 to 5 unless told."""
    return Participant(
        email=f"{name.lower()}@x.example",
        name=name,
        role=role,  # type: ignore[arg-type]
        timezone=zone,
        window=window,
        **fields,  # type: ignore[arg-type]
    )


def people(*rows: Participant) -> People:
    return People(file="people.csv", rows=rows)


def config(*cohorts: Cohort, rules: MatchRules | None = None) -> Config:
    return Config(
        path=Path("programme.yaml"),
        programme=Programme(
            "Test programme", "Learn.", Organizer("rm@x.example", "RM"), "Europe/London"
        ),
        provider=ProviderConfig("local", {}),
        state_path=Path("state.db"),
        defaults=Settings(),
        cohorts=cohorts or (cohort(),),
        matching=rules or MatchRules(),
    )


def hours(minutes: int) -> timedelta:
    return timedelta(minutes=minutes)
