"""Reconciliation: the config is the desired state, the calendar is the actual one.

``make_plan`` is pure: config + the series the provider holds + free/busy + now → a ``Plan`` of
creates, updates, ends, keeps, unschedulable pairs and orphans (series of cohorts no longer in
the config). ``rmcal schedule --dry-run`` prints it;
``rmcal.schedule`` carries it out. Existing series are compared by meaning (the instants their
recurrence produces, duration, attendees, and a fingerprint of the text rmcal wrote), never by
how a platform spells its recurrence, so a re-run with an unchanged config plans nothing even
when Graph or Google express the same rule differently.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from rmcal.invite import InviteText, Render
from rmcal.model import Cohort, Config, FixedSlot, Pair, series_key
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
    note: str = ""  # why it starts later than the cohort (after the pair's previous series)
    searched_from: date | None = None  # the first day the slot search looked at


@dataclass(frozen=True)
class Update:
    pair: Pair
    series: Series
    spec: SeriesSpec
    slot: Slot
    changes: tuple[str, ...]
    searched_from: date | None = None  # the first day the slot search looked at


@dataclass(frozen=True)
class End:
    series: Series
    last: datetime  # the last occurrence kept
    reason: str
    text: InviteText | None = None  # the description re-rendered for the shorter series


@dataclass(frozen=True)
class Cancel:
    """A series to cancel whole: its pair left before the first session, so there is no past
    to keep and a lone first session would be a meeting nobody means to hold."""

    series: Series
    reason: str
    text: InviteText | None = None


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


@dataclass(frozen=True)
class Orphan:
    """A live series whose cohort is no longer in the config (renamed or removed): reported,
    and left running unless ``--end-orphans`` turns it into an ``End``."""

    series: Series
    next_start: datetime
    reason: str


Item = Create | Update | End | Cancel | Keep | Unschedulable | Orphan
# Words an ending is rendered with: the series, the last session it keeps (None: cancelled).
RenderEnd = Callable[[Series, datetime | None], InviteText]
_I = TypeVar("_I", bound=Item)


@dataclass(frozen=True)
class Plan:
    items: tuple[Item, ...] = field(default_factory=tuple)

    def of(self, kind: type[_I]) -> list[_I]:
        """The items of one kind, in plan order."""
        return [i for i in self.items if isinstance(i, kind)]

    @property
    def changes(self) -> int:
        return sum(isinstance(i, Create | Update | End | Cancel) for i in self.items)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(ACTIONS.values(), 0)
        for item in self.items:
            out[action(item)] += 1
        return out


# Each kind of item by the word the plan's reports use for it (counts, JSON, the table).
ACTIONS: dict[type, str] = {
    Create: "create",
    Update: "update",
    End: "end",
    Cancel: "cancel",
    Keep: "unchanged",
    Unschedulable: "unschedulable",
    Orphan: "orphaned",
}


def action(item: Item) -> str:
    """What the plan does with ``item``, in one word (``create``, ``unchanged``...)."""
    return ACTIONS[type(item)]


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
    others: Sequence[Series] = (),
    end_orphans: bool = False,
    allow_duplicate_pair: bool = False,
    render_end: RenderEnd | None = None,
) -> Plan:
    """Everything ``rmcal schedule`` would do, decided without any I/O.

    ``existing`` maps cohort id → series found in the calendar for that cohort; ``recreate``
    schedules again the pairs whose series were deleted in the calendar. ``others`` is every
    series rmcal made in the calendar, whatever its cohort: those of cohorts no longer in the
    config become ``Orphan`` items (``End`` with ``end_orphans``), and a new series is refused
    to two people who already meet under another cohort id (a renamed cohort would otherwise
    invite every pair twice), unless ``allow_duplicate_pair``. ``render_end`` words the
    description a series carries once it ends (or is cancelled), so it states what is true.
    """
    items: list[Item] = []
    reserved: dict[str, list[Interval]] = {}
    planned = [c for c in config.cohorts if cohorts is None or c.id in cohorts]
    orphans, ending = _orphans(
        others, {c.id for c in config.cohorts}, now, end_orphans, render_end=render_end
    )
    ending.update(_leaving(planned, others, now))
    zone = ZoneInfo(config.programme.timezone)
    # Indexes built once, so that each pair looks only at its own series and at the series of
    # its own two people: a re-run costs O(pairs), never pairs x series.
    meets = _by_attendee(others)
    for cohort in planned:
        found = list(existing.get(cohort.id, ()))
        by_key = {s.key: s for s in found}
        by_pair = _by_pair(found)
        wanted: set[str] = set()
        placed_items: dict[str, Item] = {}
        new_start = max(cohort.start, now.date() + timedelta(days=1))
        current = {pair.id: _current(pair, by_pair.get(pair.id, ())) for pair in cohort.pairs}
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
            start, note = new_start, ""
            if series is None:
                start, note, refusal = _after_other_series(
                    pair, new_start, meets, ending, now, zone, allow=allow_duplicate_pair
                )
                if refusal:
                    placed_items[pair.id] = Unschedulable(pair, refusal)
                    continue
            placed = _plan_pair(
                config,
                pair,
                series,
                generation,
                cohort.start,
                start,
                busy,
                reserved,
                render,
                video,
            )
            if note and isinstance(placed, Create):
                placed = replace(placed, note=note)
            placed_items[pair.id] = placed
            if isinstance(placed, Create | Update | Keep) and placed.slot is not None:
                for person in pair.people:
                    reserved.setdefault(person.email, []).extend(placed.slot.intervals())
        # Placement order decides who gets contested time; the plan reads in config order.
        items.extend(placed_items[pair.id] for pair in cohort.pairs)
        for key in sorted(set(by_key) - wanted):
            end = _plan_end(by_key[key], now, render_end=render_end)
            if end is not None:
                items.append(end)
    items.extend(orphans)
    return Plan(tuple(items))


def _by_pair(found: Sequence[Series]) -> dict[str, list[Series]]:
    """A cohort's series grouped by the pair tag rmcal wrote beside the key."""
    out: dict[str, list[Series]] = {}
    for series in found:
        out.setdefault(series.pair_id, []).append(series)
    return out


def _by_attendee(others: Sequence[Series]) -> dict[str, list[Series]]:
    """Every series under each of its attendees, in the order given."""
    out: dict[str, list[Series]] = {}
    for series in others:
        for email in dict.fromkeys(series.attendees):
            out.setdefault(email, []).append(series)
    return out


def _upcoming(series: Series, now: datetime) -> list[datetime]:
    """The series' sessions from ``now`` on (none for a cancelled series)."""
    if series.cancelled:
        return []
    return [s for s in series_starts(series, now + END_LOOKAHEAD) if s >= now]


def _orphans(
    others: Sequence[Series],
    known: set[str],
    now: datetime,
    end_them: bool,
    *,
    render_end: RenderEnd | None = None,
) -> tuple[list[Item], dict[str, datetime]]:
    """Plan items for live series whose cohort left the config, and the last session each
    will keep when it is ending (with ``end_them``, or because only one session is left)."""
    items: list[Item] = []
    ending: dict[str, datetime] = {}
    for series in sorted(others, key=lambda s: (s.cohort_id, s.key)):
        if series.cohort_id in known:
            continue  # checked first: expanding every live series' rule is the costly part
        upcoming = _upcoming(series, now)
        if not upcoming:
            continue
        reason = f"cohort {series.cohort_id!r} is no longer in the config"
        if len(upcoming) == 1:
            ending[series.key] = upcoming[0]
            items.append(Orphan(series, upcoming[0], f"{reason}; ends with its next session"))
        elif end_them:
            ending[series.key] = upcoming[0]
            text = render_end(series, upcoming[0]) if render_end else None
            items.append(End(series, upcoming[0], reason, text))
        else:
            items.append(
                Orphan(
                    series,
                    upcoming[0],
                    f"{reason}; left running (schedule --end-orphans ends it after its next "
                    "session)",
                )
            )
    return items, ending


def _leaving(
    planned: Sequence[Cohort], others: Sequence[Series], now: datetime
) -> dict[str, datetime]:
    """Series of pairs removed from a planned cohort: this plan ends them after their next
    session (``_plan_end``), which is the last one they keep."""
    ending: dict[str, datetime] = {}
    pair_ids = {c.id: {p.id for p in c.pairs} for c in planned}
    for series in others:
        kept = pair_ids.get(series.cohort_id)
        if kept is not None and series.pair_id not in kept:
            upcoming = _upcoming(series, now)
            if upcoming:
                ending[series.key] = upcoming[0]
    return ending


def _after_other_series(
    pair: Pair,
    start: date,
    meets: Mapping[str, Sequence[Series]],
    ending: Mapping[str, datetime],
    now: datetime,
    zone: ZoneInfo,
    *,
    allow: bool,
) -> tuple[date, str, str | None]:
    """Where a new series of ``pair`` may start, given the same two people's series under other
    cohort ids: after the last session of one that is ending, and not at all (a refusal)
    beside one that keeps running, unless ``allow``. ``meets`` lists every series under each
    attendee (``_by_attendee``). Returns (start, note, refusal)."""
    note = ""
    people = {pair.mentor.email, pair.mentee.email}
    for other in meets.get(pair.mentor.email, ()):
        if other.cohort_id == pair.cohort_id or not people <= set(other.attendees):
            continue
        last = ending.get(other.key)
        if last is not None:
            after = last.astimezone(zone).date() + timedelta(days=1)
            if after > start:
                start = after
                note = (
                    f"starts after the last session ({last.astimezone(zone):%Y-%m-%d}) of their "
                    f"series in cohort {other.cohort_id!r}"
                )
            continue
        upcoming = _upcoming(other, now)
        if upcoming and upcoming[-1].astimezone(zone).date() >= start and not allow:
            return (
                start,
                "",
                f"already meets in cohort {other.cohort_id!r} until "
                f"{upcoming[-1].astimezone(zone):%Y-%m-%d} (series {other.key}); end that series "
                "first (--end-orphans if its cohort left the config) or pass "
                "--allow-duplicate-pair",
            )
    return start, note, None


def generation_of(series: Series, cohort_id: str, pair: str) -> int | None:
    """Which generation of a pair's series key this is (None: not one of rmcal's keys)."""
    return generations_of(cohort_id, pair, (series.key,)).get(series.key)


def generations_of(cohort_id: str, pair: str, keys: Iterable[str]) -> dict[str, int]:
    """Which of ``keys`` are generations of the pair's series key, to their generation.

    Keys are hashed in generation order only until every one given is placed: a pair with one
    series costs one hash, not ``MAX_GENERATIONS`` (at 1,000 pairs, 50,000 hashes were a fifth
    of a re-run's CPU). A key that is no generation of the pair costs them all, as it must.
    """
    wanted = set(keys)
    found: dict[str, int] = {}
    for generation in range(1, MAX_GENERATIONS + 1):
        if not wanted:
            break
        key = series_key(cohort_id, pair, generation)
        if key in wanted:
            wanted.discard(key)
            found[key] = generation
    return found


def _current(pair: Pair, found: Sequence[Series]) -> tuple[Series | None, int, list[Series]]:
    """A pair's live series (latest generation), the generation to use, and all its series.

    ``found`` holds the series tagged with the pair (``_by_pair``); only those whose key is one
    of the pair's generations count.

    A series deleted in the calendar stays visible on some platforms (Google keeps the event,
    and its id, for ever), so re-creating a pair needs the next generation's key.
    """
    keys = generations_of(pair.cohort_id, pair.id, (s.key for s in found))
    mine = sorted((g, s) for s in found if (g := keys.get(s.key)) is not None)
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
        spec = build_spec(config, pair, slot, render(pair, slot), video, generation)
        return Create(pair, spec, slot, searched_from=new_start)
    own = frozenset((s, s + series.duration) for s in series_starts(series))
    # An existing series keeps its first date: sessions already held stay where they were.
    search_from = series.start.date() if series.start.date() >= cohort_start else cohort_start
    slot = find_slot(
        pair,
        search_from,
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
        return Update(pair, series, spec, slot, changes, searched_from=search_from)
    return Keep(pair, series, slot)


def plan_ends(
    series: Sequence[Series], now: datetime, reason: str, render_end: RenderEnd | None = None
) -> Plan:
    """End each live series after its next session, as for a pair removed from the config
    (``rmcal forget --end-series``): the same rule, the same ``End`` and ``Cancel`` items, the
    same apply."""
    ends = [
        end
        for one in series
        if (end := _plan_end(one, now, reason, render_end=render_end)) is not None
    ]
    return Plan(tuple(ends))


def _plan_end(
    series: Series,
    now: datetime,
    reason: str = "pair no longer in the config",
    *,
    render_end: RenderEnd | None = None,
) -> End | Cancel | None:
    """End a series after its next occurrence (history stays), or cancel it whole when none
    of its sessions has started; None when nothing is left to end."""
    upcoming = _upcoming(series, now)
    if not upcoming:
        return None  # over, or cancelled already
    if series.start >= now:  # not one session has begun: nothing to keep
        return Cancel(series, reason, render_end(series, None) if render_end else None)
    if len(upcoming) <= 1:
        return None  # already ends with the next occurrence
    text = render_end(series, upcoming[0]) if render_end else None
    return End(series, upcoming[0], reason, text)
