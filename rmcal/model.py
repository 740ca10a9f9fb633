"""The programme as rmcal understands it: frozen, typed, validated objects.

``rmcal.config`` builds these from YAML (and CSV); everything downstream reads only these, never
raw dictionaries, so a value that got this far is known to be well-formed. Datetimes are aware,
zones are IANA names (``zone`` gives the ``ZoneInfo``), e-mail addresses are lower-cased.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Window:
    """Days and hours in which a person can meet, read in that person's own time zone.

    ``start_minute``/``end_minute`` count minutes from local midnight; ``end_minute`` may be 1440.
    """

    days: frozenset[int]  # 0 = Monday ... 6 = Sunday
    start_minute: int
    end_minute: int

    def describe(self) -> str:
        days = ",".join(WEEKDAYS[d] for d in sorted(self.days))
        return f"{days} {_hhmm(self.start_minute)}-{_hhmm(self.end_minute)}"


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class Person:
    """A mentor or mentee: identified by lower-cased e-mail, scheduled in their own zone."""

    email: str
    name: str
    timezone: str
    window: Window | None = None  # overrides the pair's window for this person only

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Cadence:
    """How often a pair meets.

    ``kind`` is ``weekly`` (every ``interval`` weeks), ``monthly`` (same weekday-of-month as the
    first session, every ``interval`` months) or ``rrule`` (a raw RFC 5545 rule in ``rrule``,
    without COUNT/UNTIL/DTSTART: the series length comes from ``sessions``/``end_date``).
    """

    kind: Literal["weekly", "monthly", "rrule"]
    interval: int = 1
    rrule: str | None = None
    text: str = "weekly"  # as written in the config, for messages

    @property
    def period(self) -> timedelta:
        """The nominal length of one cadence period (used by health to bucket sessions)."""
        if self.kind == "weekly":
            return timedelta(weeks=self.interval)
        if self.kind == "monthly":
            return timedelta(days=30 * self.interval)
        return _rrule_period(self.rrule or "")


def _rrule_period(rule: str) -> timedelta:
    parts = dict(p.split("=", 1) for p in rule.upper().split(";") if "=" in p)
    interval = int(parts.get("INTERVAL", "1"))
    base = {
        "DAILY": timedelta(days=1),
        "WEEKLY": timedelta(weeks=1),
        "MONTHLY": timedelta(days=30),
        "YEARLY": timedelta(days=365),
    }.get(parts.get("FREQ", "WEEKLY"), timedelta(weeks=1))
    return base * interval


@dataclass(frozen=True)
class Thresholds:
    """When a pair's cadence health changes state; all overridable in config."""

    at_risk_missed: int = 1  # consecutive missed periods that make a pair "at risk"
    off_track_missed: int = 2  # consecutive missed periods that make a pair "off track"
    confirmed_share: float = 0.5  # share of the slot both must have joined to count "confirmed"


@dataclass(frozen=True)
class FixedSlot:
    """A slot the admin chose (``Wed 14:00``, optionally with a zone); validated, not searched."""

    weekday: int
    minute: int
    timezone: str | None = None  # None: the mentee's zone

    def describe(self) -> str:
        zone = f" {self.timezone}" if self.timezone else ""
        return f"{WEEKDAYS[self.weekday]} {_hhmm(self.minute)}{zone}"


@dataclass(frozen=True)
class Settings:
    """Everything that can be set in ``defaults`` and overridden per cohort and per pair."""

    cadence: Cadence = field(default_factory=lambda: Cadence("weekly"))
    sessions: int | None = 6
    end_date: date | None = None
    duration: timedelta = timedelta(minutes=45)
    window: Window = field(default_factory=lambda: Window(frozenset(range(5)), 9 * 60, 17 * 60))
    video: Literal["auto", "none"] = "auto"
    agenda_lead: timedelta = timedelta(hours=24)
    feedback_delay: timedelta = timedelta(hours=1)
    feedback_form_url: str | None = None  # a template: {pair}, {session}, {cohort}
    clash_watch_days: int = 14  # days ahead ``tick`` checks sessions against free/busy; 0: off
    digest_weekday: int = 0  # Monday
    digest_time: time = time(8, 0)
    thresholds: Thresholds = field(default_factory=Thresholds)


@dataclass(frozen=True)
class Source:
    """Where a value came from, so later checks (overlaps, fixed slots) can point at a line."""

    file: str
    line: int | None
    key: str


@dataclass(frozen=True)
class Pair:
    """A mentor (the junior colleague who teaches) and a mentee (the senior leader)."""

    cohort_id: str
    mentor: Person
    mentee: Person
    settings: Settings
    focus: str | None = None
    fixed_slot: FixedSlot | None = None
    lead: str | None = None  # a lead's e-mail
    source: Source | None = None

    @cached_property
    def id(self) -> str:
        return pair_id(self.cohort_id, self.mentor.email, self.mentee.email)

    @property
    def people(self) -> tuple[Person, Person]:
        return (self.mentor, self.mentee)

    def window_of(self, person: Person) -> Window:
        return person.window or self.settings.window


@dataclass(frozen=True)
class Cohort:
    """A group of pairs that start together.

    ``relative_start`` is the config's ``next Monday`` form, when used: ``start`` is then that
    day as seen from the day the config was read, until the calendar holds the cohort's series
    and their first session fixes it (``rmcal.schedule.anchor_relative_starts``).
    """

    id: str
    start: date
    pairs: tuple[Pair, ...]
    settings: Settings
    source: Source | None = None
    relative_start: str | None = None
    pairs_csv: Path | None = None  # the HR export the cohort names (``rmcal match`` writes it)


@dataclass(frozen=True)
class Lead:
    """A programme lead; sees only the pairs in scope (``cohorts``/``pairs``/a pair's ``lead``).

    ``all_pairs`` is only true when the config says ``scope: all`` explicitly, so that a lead
    never sees another lead's pairs by accident.
    """

    email: str
    name: str
    timezone: str
    cohorts: frozenset[str] = frozenset()
    pairs: frozenset[str] = frozenset()  # pair ids
    all_pairs: bool = False

    def sees(self, pair: Pair) -> bool:
        return (
            self.all_pairs
            or pair.lead == self.email
            or pair.cohort_id in self.cohorts
            or pair.id in self.pairs
        )


@dataclass(frozen=True)
class Organizer:
    email: str
    name: str


@dataclass(frozen=True)
class Programme:
    name: str
    purpose: str
    organizer: Organizer
    timezone: str
    leads: tuple[Lead, ...] = ()


@dataclass(frozen=True)
class ProviderConfig:
    kind: str
    settings: dict[str, Any]


@dataclass(frozen=True)
class MatchWeights:
    """How much each soft goal of ``rmcal match`` counts; each term it weighs lies in [0, 1]."""

    topics: float = 3.0  # share of the mentee's wanted topics that the mentor offers
    department: float = 1.0  # 1 when the two work in different departments
    generation: float = 1.0  # seniority levels (or decades of age band) apart, up to 3, over 3
    overlap: float = 1.0  # shared hours a week, up to 5 (an hour a day), over 5


@dataclass(frozen=True)
class MatchRules:
    """The programme's rules for ``rmcal match``: hard constraints and the score's weights."""

    min_overlap: timedelta = timedelta(hours=1)  # shared window time a week, every week
    management_chain: int | None = None  # levels of the chain kept apart; None: all of it
    shared_language: bool = True
    weights: MatchWeights = field(default_factory=MatchWeights)


@dataclass(frozen=True)
class Config:
    path: Path
    programme: Programme
    provider: ProviderConfig
    state_path: Path
    defaults: Settings
    cohorts: tuple[Cohort, ...]
    templates_dir: Path | None = None
    # "key.path" -> 1-based line in ``path``, so later checks (provider settings, slots) can
    # point at the line that caused them.
    lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    matching: MatchRules = field(default_factory=MatchRules)

    @property
    def pairs(self) -> tuple[Pair, ...]:
        return tuple(p for c in self.cohorts for p in c.pairs)

    def cohort(self, cohort_id: str) -> Cohort:
        for cohort in self.cohorts:
            if cohort.id == cohort_id:
                return cohort
        raise KeyError(cohort_id)


_SLUG = re.compile(r"[^a-z0-9]+")


def _slug(text: str, size: int) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")[:size].strip("-") or "x"


def email_slug(email: str) -> str:
    """The readable part of a pair id that stands for one person (their address's local part)."""
    return _slug(email.split("@")[0], 12)


def pair_id(cohort_id: str, mentor_email: str, mentee_email: str) -> str:
    """A short id that is readable in URLs and e-mails and stable for the same three inputs."""
    digest = hashlib.sha256(
        f"{cohort_id}\n{mentor_email.lower()}\n{mentee_email.lower()}".encode()
    ).hexdigest()[:6]
    return f"{email_slug(mentor_email)}-{email_slug(mentee_email)}-{digest}"


_BASE32HEX = "0123456789abcdefghijklmnopqrstuv"


def series_key(cohort_id: str, pair: str, generation: int = 1) -> str:
    """The deterministic key of a pair's series, written into the calendar event itself.

    26 characters of lower-case base32hex (``0-9a-v``), so that the same string is a valid
    Google Calendar event id, a valid ICS UID prefix and a valid Graph transaction id.
    """
    raw = hashlib.sha256(f"rmcal\n{cohort_id}\n{pair}\n{generation}".encode()).digest()
    bits = int.from_bytes(raw[:17], "big")
    chars = []
    for _ in range(26):
        chars.append(_BASE32HEX[bits & 31])
        bits >>= 5
    return "rm" + "".join(chars)[:24]
