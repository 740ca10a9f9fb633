"""Reconciliation: the config is the desired state, the calendar is the actual one.

``make_plan`` is pure: config + the series the provider holds + free/busy + now → a ``Plan`` of
creates, updates, ends, keeps and unschedulable pairs. ``rmcal schedule --dry-run`` prints it;
``rmcal.schedule`` carries it out. Existing series are compared by meaning (the instants their
recurrence produces, duration, attendees, and a fingerprint of the text rmcal wrote), never by
how a platform spells its recurrence, so a re-run with an unchanged config plans nothing even
when Graph or Google express the same rule differently.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TypeVar

from rmcal.invite import InviteText, Render
from rmcal.model import Config, FixedSlot, Pair, series_key
from rmcal.provider import (
    TAG_COHORT,
    TAG_FINGERPRINT,
    TAG_KEY,
    TAG_PAIR,
    Attendee,
    BusyMap,
    Interval,
    Series,
    SeriesSpec,
)
from rmcal.recurrence import expand
from rmcal.slots import NoSlot, Slot, find_slot

# Generations a pair's series key can have (each deletion in the calendar plus --recreate
# uses one); far beyond what a programme meets.
MAX_GENERATIONS = 50
# How far past "now" to look for the next occurrence of a series being ended.
END_LOOKAHEAD = timedelta(days=800)


@dataclass(frozen=True)
class Create:
    pair: Pair
    spec: SeriesSpec
    slot: Slot


@dataclass(frozen=True)
class Update:
    pair: Pair
    series: Series
    spec: SeriesSpec
    slot: Slot
    changes: tuple[str, ...]


@dataclass(frozen=True)
class End:
    series: Series
    last: datetime  # the last occurrence kept
    reason: str


@dataclass(frozen=True)
class Keep:
    pair: Pair
    series: Series
    slot: Slot | None
    note: str = ""


@dataclass(frozen=True)
class Unschedulable:
    pair: Pair
    reason: str


Item = Create | Update | End | Keep | Unschedulable
_I = TypeVar("_I", bound=Item)


@dataclass(frozen=True)
class Plan:
    items: tuple[Item, ...] = field(default_factory=tuple)

    def of(self, kind: type[_I]) -> list[_I]:
        """The items of one kind, in plan order."""
        return [i for i in self.items if isinstance(i, kind)]

    @property
    def changes(self) -> int:
        return sum(isinstance(i, Create | Update | End) for i in self.items)

    def counts(self) -> dict[str, int]:
        names = {
            Create: "create",
            Update: "update",
            End: "end",
            Keep: "unchanged",
            Unschedulable: "unschedulable",
        }
        out = dict.fromkeys(names.values(), 0)
        for item in self.items:
            out[names[type(item)]] += 1
        return out


def fingerprint(spec_fields: Mapping[str, object]) -> str:
    """A short hash of everything rmcal writes into a series, stored in the event as a tag."""
    blob = json.dumps(spec_fields, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def build_spec(
    config: Config, pair: Pair, slot: Slot, text: InviteText, video: bool, generation: int = 1
) -> SeriesSpec:
    key = series_key(pair.cohort_id, pair.id, generation)
    organizer = Attendee(config.programme.organizer.email, config.programme.organizer.name)
    attendees = (
        Attendee(pair.mentor.email, pair.mentor.name),
        Attendee(pair.mentee.email, pair.mentee.name),
    )
    wants_video = video and pair.settings.video == "auto"
    fields = {
        "title": text.title,
        "html": text.html,
        "text": text.text,
        "attendees": [(a.email, a.name) for a in attendees],
        "organizer": organizer.email,
        "start": slot.first.isoformat(),
        "duration": slot.duration.total_seconds(),
        "timezone": slot.timezone,
        "rrule": slot.rrule,
        "video": wants_video,
    }
    tags = (
        (TAG_KEY, key),
        (TAG_COHORT, pair.cohort_id),
        (TAG_PAIR, pair.id),
        (TAG_FINGERPRINT, fingerprint(fields)),
    )
    return SeriesSpec(
        key=key,
        cohort_id=pair.cohort_id,
        pair_id=pair.id,
        title=text.title,
        description_html=text.html,
        description_text=text.text,
        organizer=organizer,
        attendees=attendees,
        start=slot.first,
        duration=slot.duration,
        timezone=slot.timezone,
        rrule=slot.rrule,
        video=wants_video,
        tags=tags,
    )


def series_starts(series: Series, before: datetime | None = None) -> list[datetime]:
    """Occurrence starts a series' recurrence produces (bounded by ``before`` if open-ended)."""
    return expand(series.rrule, series.start, before=before or series.start + END_LOOKAHEAD)


def held_slot(series: Series) -> FixedSlot:
    """The weekday and local time an existing series sits at, to keep it there if it still fits."""
    first = series.start
    return FixedSlot(first.weekday(), first.hour * 60 + first.minute, series.timezone)


def differences(series: Series, spec: SeriesSpec, slot: Slot) -> tuple[str, ...]:
    """What would change in the calendar, in an admin's words (empty: nothing)."""
    changes = []
    held = {s.timestamp() for s in series_starts(series)}
    wanted = {s.timestamp() for s in slot.starts}
    if held != wanted:
        changes.append("sessions")
    if series.duration != spec.duration:
        changes.append("duration")
    if set(series.attendees) != {a.email for a in spec.attendees}:
        changes.append("attendees")
    if not changes and series.tags.get(TAG_FINGERPRINT) != spec.tag_map[TAG_FINGERPRINT]:
        changes.append("details")
    return tuple(changes)


def _order(pairs: Sequence[Pair], live: Mapping[str, Series | None]) -> list[Pair]:
    """Fixed slots first, then pairs that already have a series, then new ones; each by id."""

    def rank(pair: Pair) -> tuple[int, str]:
        if pair.fixed_slot is not None:
            return (0, pair.id)
        if live.get(pair.id) is not None:
            return (1, pair.id)
        return (2, pair.id)

    return sorted(pairs, key=rank)


def make_plan(
    config: Config,
    existing: Mapping[str, Sequence[Series]],
    busy: BusyMap,
    now: datetime,
    render: Render,
    *,
    video: bool,
    cohorts: Sequence[str] | None = None,
    recreate: bool = False,
) -> Plan:
    """Everything ``rmcal schedule`` would do, decided without any I/O.

    ``existing`` maps cohort id → series found in the calendar for that cohort; ``recreate``
    schedules again the pairs whose series were deleted in the calendar.
    """
    items: list[Item] = []
    reserved: dict[str, list[Interval]] = {}
    for cohort in config.cohorts:
        if cohorts is not None and cohort.id not in cohorts:
            continue
        found = list(existing.get(cohort.id, ()))
        by_key = {s.key: s for s in found}
        wanted: set[str] = set()
        placed_items: dict[str, Item] = {}
        new_start = max(cohort.start, now.date() + timedelta(days=1))
        current = {pair.id: _current(pair, found) for pair in cohort.pairs}
        for pair in _order(cohort.pairs, {p: c[0] for p, c in current.items()}):
            series, generation, history = current[pair.id]
            wanted.update(s.key for s in history)
            if series is None and history and not recreate:
                placed_items[pair.id] = Keep(
                    pair,
                    history[-1],
                    None,
                    "deleted in the calendar; left alone (re-run with --recreate to schedule it "
                    "again, or remove the pair from the config)",
                )
                continue
            placed = _plan_pair(
                config,
                pair,
                series,
                generation,
                cohort.start,
                new_start,
                busy,
                reserved,
                render,
                video,
            )
            placed_items[pair.id] = placed
            if isinstance(placed, Create | Update | Keep) and placed.slot is not None:
                for person in pair.people:
                    reserved.setdefault(person.email, []).extend(placed.slot.intervals())
        # Placement order decides who gets contested time; the plan reads in config order.
        items.extend(placed_items[pair.id] for pair in cohort.pairs)
        for key in sorted(set(by_key) - wanted):
            ending = _plan_end(by_key[key], now)
            if ending is not None:
                items.append(ending)
    return Plan(tuple(items))


def generation_of(series: Series, cohort_id: str, pair: str) -> int | None:
    """Which generation of a pair's series key this is (None: not one of rmcal's keys)."""
    for generation in range(1, MAX_GENERATIONS + 1):
        if series_key(cohort_id, pair, generation) == series.key:
            return generation
    return None


def _current(pair: Pair, found: Sequence[Series]) -> tuple[Series | None, int, list[Series]]:
    """A pair's live series (latest generation), the generation to use, and all its series.

    A series deleted in the calendar stays visible on some platforms (Google keeps the event,
    and its id, for ever), so re-creating a pair needs the next generation's key.
    """
    mine = sorted(
        (g, s) for s in found if (g := generation_of(s, pair.cohort_id, pair.id)) is not None
    )
    live = [(g, s) for g, s in mine if not s.cancelled]
    if live:
        generation, series = live[-1]
        return series, generation, [s for _, s in mine]
    next_generation = mine[-1][0] + 1 if mine else 1
    return None, next_generation, [s for _, s in mine]


def _plan_pair(
    config: Config,
    pair: Pair,
    series: Series | None,
    generation: int,
    cohort_start: date,
    new_start: date,
    busy: BusyMap,
    reserved: Mapping[str, Sequence[Interval]],
    render: Render,
    video: bool,
) -> Item:
    zone = config.programme.timezone
    if series is None:
        slot = find_slot(pair, new_start, busy, programme_zone=zone, reserved=reserved)
        if isinstance(slot, NoSlot):
            return Unschedulable(pair, slot.reason)
        return Create(
            pair, build_spec(config, pair, slot, render(pair, slot), video, generation), slot
        )
    own = frozenset((s, s + series.duration) for s in series_starts(series))
    # An existing series keeps its first date: sessions already held stay where they were.
    slot = find_slot(
        pair,
        series.start.date() if series.start.date() >= cohort_start else cohort_start,
        busy,
        programme_zone=zone,
        reserved=reserved,
        ignore=own,
        prefer=held_slot(series),
    )
    if isinstance(slot, NoSlot):
        return Unschedulable(pair, slot.reason + " (the existing series is left as it is)")
    spec = build_spec(config, pair, slot, render(pair, slot), video, generation)
    changes = differences(series, spec, slot)
    if changes:
        return Update(pair, series, spec, slot, changes)
    return Keep(pair, series, slot)


def _plan_end(series: Series, now: datetime) -> End | None:
    """End a series whose pair left the config after its next occurrence (history stays)."""
    if series.cancelled:
        return None
    upcoming = [s for s in series_starts(series, now + END_LOOKAHEAD) if s >= now]
    if len(upcoming) <= 1:
        return None  # already ends with the next occurrence (or is over)
    return End(series, upcoming[0], "pair no longer in the config")
