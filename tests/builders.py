"""Small builders for domain objects, so tests state only what matters to them."""

from __future__ import annotations

from datetime import date, timedelta

from rmcal.model import Cadence, FixedSlot, Pair, Person, Settings, Window

WEEKDAYS_9_TO_5 = Window(frozenset(range(5)), 9 * 60, 17 * 60)
# For tests about something other than hours: no session is ever outside them.
ANY_TIME = Window(frozenset(range(7)), 0, 24 * 60)


def window(start: str = "09:00", end: str = "17:00", days: range | set[int] = range(5)) -> Window:
    def minutes(text: str) -> int:
        hours, mins = text.split(":")
        return int(hours) * 60 + int(mins)

    return Window(frozenset(days), minutes(start), minutes(end))


def person(name: str, zone: str, win: Window | None = None) -> Person:
    return Person(f"{name.lower()}@example.com", name.title(), zone, win)


def settings(
    cadence: Cadence | None = None,
    sessions: int | None = 6,
    minutes: int = 45,
    win: Window | None = None,
    end_date: date | None = None,
) -> Settings:
    return Settings(
        cadence=cadence or Cadence("weekly", 1, None, "weekly"),
        sessions=None if end_date else sessions,
        end_date=end_date,
        duration=timedelta(minutes=minutes),
        window=win or WEEKDAYS_9_TO_5,
    )


def pair(
    mentor: Person,
    mentee: Person,
    cohort: str = "c1",
    fixed: FixedSlot | None = None,
    **kwargs: object,
) -> Pair:
    return Pair(cohort, mentor, mentee, settings(**kwargs), fixed_slot=fixed)  # type: ignore[arg-type]


def config(*pairs: Pair, start: date = date(2027, 1, 11), cohort: str = "c1"):  # type: ignore[no-untyped-def]
    """A one-cohort Config around the given pairs (no file behind it)."""
    from pathlib import Path

    from rmcal.model import Cohort, Config, Organizer, Programme, ProviderConfig

    programme = Programme(
        "Test programme",
        "Learn from each other.",
        Organizer("rm@example.com", "Reverse Mentoring"),
        "Europe/London",
    )
    return Config(
        path=Path("/tmp/test-config.yaml"),
        programme=programme,
        provider=ProviderConfig("local", {}),
        state_path=Path("/tmp/test-state.db"),
        defaults=Settings(),
        cohorts=(Cohort(cohort, start, tuple(pairs), Settings()),),
    )


def weekly_reading(  # type: ignore[no-untyped-def]
    p: Pair,
    first,
    now,
    cancel: frozenset[int] | set[int] = frozenset(),
    decline: frozenset[int] | set[int] = frozenset(),
    sessions: int = 4,
):
    """A pair's health reading from a weekly series starting ``first`` (aware, Europe/London),
    with sessions numbered from 1 cancelled or declined by the mentee."""
    from datetime import UTC

    from rmcal.health import assess
    from rmcal.provider import Occurrence, Response, Series
    from rmcal.readings import PairReading

    key = "rm" + p.id.replace("-", "")[:24]
    weekday = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[first.weekday()]
    series = Series(
        key=key,
        provider_id="x",
        title="t",
        start=first,
        duration=timedelta(minutes=45),
        timezone="Europe/London",
        rrule=f"FREQ=WEEKLY;BYDAY={weekday};COUNT={sessions}",
        attendees=(p.mentor.email, p.mentee.email),
        tags={"key": key, "cohort": p.cohort_id, "pair": p.id},
    )
    occurrences = [
        Occurrence(
            key,
            (first + timedelta(weeks=i)).astimezone(UTC),
            (first + timedelta(weeks=i)).astimezone(UTC),
            (first + timedelta(weeks=i, minutes=45)).astimezone(UTC),
            cancelled=i + 1 in cancel,
            responses={p.mentee.email: Response.DECLINED} if i + 1 in decline else {},
        )
        for i in range(sessions)
    ]
    return PairReading(pair=p, series=series, health=assess(p, series, occurrences, now))
