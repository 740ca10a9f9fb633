"""Plain helpers for the local provider's tests: a context, a spec, a provider on a temp folder.

Not a test module and not fixtures: functions the test modules import, so that each test reads
as "this series, in this zone, on this folder". Hand-edited calendars live in ``fixtures/``,
one small file per edge case (after khal's ``tests/ics/``).
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import recurring_ical_events
from icalendar import Calendar
from rmcal_providers.local import LocalProvider

from rmcal.model import series_key
from rmcal.provider import (
    Attendee,
    Clock,
    Occurrence,
    ProviderContext,
    Series,
    SeriesSpec,
    wall_clock,
)
from tests.zones import LONDON, UTC, tz

FIXTURES = Path(__file__).parent / "fixtures"
ORGANIZER = Attendee("programme@example.com", "Reverse Mentoring Programme")
ANN = Attendee("ann@example.com", "Ann Mentor")  # the junior colleague, Europe/London
BOB = Attendee("bob@example.com", "Bob Mentee")  # the senior leader
NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
WIDE = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def context(
    tmp_path: Path,
    zone: str = LONDON,
    env: dict[str, str] | None = None,
    clock: Clock = wall_clock,
) -> ProviderContext:
    """What the core would hand the provider; ``clock`` is the run's "now" (``--now``)."""
    return ProviderContext(
        config_dir=tmp_path,
        state_dir=tmp_path,
        organizer=ORGANIZER,
        programme="Reverse mentoring",
        timezone=zone,
        env=env or {},
        clock=clock,
    )


def provider(tmp_path: Path, **settings: object) -> LocalProvider:
    settings.setdefault("folder", str(tmp_path / "rm"))
    return LocalProvider(settings, context(tmp_path, clock=lambda: NOW))


def spec(
    *,
    start: datetime,
    zone: str = LONDON,
    rrule: str = "FREQ=WEEKLY;BYDAY=WE;WKST=MO;COUNT=6",
    cohort: str = "c1",
    pair: str = "ann-bob-000001",
    minutes: int = 45,
    attendees: tuple[Attendee, ...] = (ANN, BOB),
    title: str = "Reverse mentoring: Ann & Bob",
) -> SeriesSpec:
    key = series_key(cohort, pair)
    return SeriesSpec(
        key=key,
        cohort_id=cohort,
        pair_id=pair,
        title=title,
        description_html="<p>Ann teaches, Bob <b>owns the agenda</b>; listen &amp; ask.</p>",
        description_text="Ann teaches, Bob owns the agenda; listen & ask.",
        organizer=ORGANIZER,
        attendees=attendees,
        start=start,
        duration=timedelta(minutes=minutes),
        timezone=zone,
        rrule=rrule,
        video=True,
        tags=(("key", key), ("cohort", cohort), ("pair", pair), ("fingerprint", "fp-1")),
    )


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=tz(LONDON))  # type: ignore[misc]


def created(p: LocalProvider, s: SeriesSpec) -> Series:
    result = p.create_series([s])[s.key]
    assert isinstance(result, Series), result
    return result


def oracle_starts(path: Path) -> list[datetime]:
    """Starts of the occurrences that take place, as recurring_ical_events (not rmcal) sees them.

    It leaves EXDATEs out and returns cancelled overrides with their STATUS, so those are
    dropped here.
    """
    calendar = Calendar.from_ical(path.read_bytes())
    events = recurring_ical_events.of(calendar).between(*WIDE)
    return sorted(
        e["DTSTART"].dt.astimezone(UTC)
        for e in events
        if str(e.get("STATUS", "")).upper() != "CANCELLED"
    )


def install_fixture(p: LocalProvider, name: str) -> Path:
    target = p.folder / "calendars" / f"{name}.ics"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURES / f"{name}.ics", target)
    return target


def fixture_series(p: LocalProvider, name: str) -> Series:
    install_fixture(p, name)
    (found,) = [s for s in p.find_series("fixtures") if s.key == name]
    return found


def outbox(p: LocalProvider) -> list[Path]:
    folder = p.folder / "outbox"
    return sorted(folder.glob("*.eml")) if folder.is_dir() else []


def parse_eml(path: Path) -> EmailMessage:
    with path.open("rb") as handle:
        return BytesParser(policy=policy.default).parse(handle)  # type: ignore[return-value]


def parse_eml_bytes(data: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(data)  # type: ignore[return-value]


def leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


def mail(key: str, to: str = "bob@example.com", subject: str = "Agenda") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Reverse Mentoring Programme <programme@example.com>"
    message["To"] = to
    message["Subject"] = subject
    message["X-Rmcal-Key"] = key
    message.set_content("Plain text.\n")
    message.add_alternative("<p>HTML.</p>\n", subtype="html")
    return message


def by_day(occurrences: list[Occurrence]) -> dict[str, Occurrence]:
    return {o.original_start.astimezone(tz(LONDON)).strftime("%m-%d"): o for o in occurrences}


def smtp_provider(tmp_path: Path, port: int, password: str = "pa55-word") -> LocalProvider:
    settings = {
        "folder": str(tmp_path / "rm"),
        "smtp": {
            "host": "127.0.0.1",
            "port": port,
            "starttls": False,
            "user": "rmcal",
            "password_env": "RM_SMTP_PASSWORD",
            "from": "bounces@example.com",
        },
    }
    ctx = context(tmp_path, env={"RM_SMTP_PASSWORD": password}, clock=lambda: NOW)
    return LocalProvider(settings, ctx)
