"""The clash watch: sessions someone has booked over since they were scheduled.

A schedule is checked against free/busy once, when it is made; people book over their sessions
later, and the first anyone hears of it is a missed session. So ``tick``, once a day
(``watch_due``) and on a digest's run, looks ahead ``clash_watch_days`` (per pair, default
14): it reads free/busy once for both people of every
pair with a session in that time (one ``Provider.busy`` call for everyone, which the provider
splits into the calls its platform allows), takes each pair's own sessions out of both people's
busy time (``slots.without_own``: free/busy names no event, so the session shows as one interval
equal to it), and asks of every session that will happen the slot search's own question
(``slots.busy_index``): is either person busy then? Each clash becomes one heads-up to the pair,
sent once through the ledger (``tick.headsup_key`` says what one clash is), with three free
times that week inside both people's hours, and one line in the lead's digest.

``read_watch`` is the one read; everything else here is pure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from rmcal.attendance import Session
from rmcal.model import Pair, Person
from rmcal.provider import BusyMap, Provider
from rmcal.readings import PairReading
from rmcal.slots import BusyIndex, busy_index, fits_window

FREE_TIMES = 3  # free times a heads-up offers
FREE_STEP = timedelta(minutes=15)  # the grid they lie on, in the mentee's clock
FREE_LEAD = timedelta(hours=2)  # no free time is offered that starts sooner than this


@dataclass(frozen=True)
class SessionClash:
    """A session that will happen, and a person whose calendar has another commitment then.

    ``free`` holds up to three starts that week (Monday to Sunday in the mentee's zone) when
    both people are free and inside their hours for the whole session.
    """

    reading: PairReading
    session: Session
    person: Person
    free: tuple[datetime, ...]

    @property
    def pair_id(self) -> str:
        return self.reading.pair.id


@dataclass(frozen=True)
class Watch:
    """What one look ahead found: the read it made, and every clash (pure data)."""

    window: tuple[datetime, datetime] | None  # the free/busy read, None when nothing to watch
    people: int  # people whose free/busy was read
    sessions: int  # sessions watched
    pairs: int = 0  # pairs with a session watched
    clashes: tuple[SessionClash, ...] = ()
    unknown: tuple[str, ...] = ()  # people whose free/busy the provider could not read

    def as_dict(self, key: Callable[[SessionClash], str]) -> dict[str, Any]:
        """For ``tick --json``; ``key`` names each clash as the ledger does."""
        window = self.window
        return {
            "window": None if window is None else [window[0].isoformat(), window[1].isoformat()],
            "pairs": self.pairs,
            "people": self.people,
            "sessions": self.sessions,
            "unknown": list(self.unknown),
            "clashes": [
                {
                    "key": key(c),
                    "pair": c.pair_id,
                    "session": c.session.number,
                    "start": c.session.start.isoformat(),
                    "busy": c.person.email,
                    "free": [moment.isoformat() for moment in c.free],
                }
                for c in self.clashes
            ],
        }


NOTHING = Watch(window=None, people=0, sessions=0, pairs=0)

# The watch's rhythm: once a day, as a clash found a day ahead is still a session rescued, and
# not on every cron tick, where it would be the one read an idle tick makes (2,000 people are
# 100 getSchedule calls on Microsoft 365). Twenty hours, so that a daily cron running a few
# seconds earlier than yesterday still reads.
WATCH_EVERY = timedelta(hours=20)
WATCH_STATE = ("clash_watch", "read_at")  # where the state file keeps the last read's time


def watch_due(last_read: datetime | None, now: datetime) -> bool:
    """Whether a run at ``now`` reads free/busy for the watch, given when it was last read."""
    return last_read is None or not last_read <= now < last_read + WATCH_EVERY


def watched(reading: PairReading, now: datetime) -> list[Session]:
    """The pair's sessions that will happen within its ``clash_watch_days`` from ``now``."""
    days = reading.pair.settings.clash_watch_days
    if not days or reading.series is None:
        return []
    horizon = now + timedelta(days=days)
    return [s for s in reading.health.sessions if s.will_happen and now < s.start <= horizon]


def week_of(moment: datetime, pair: Pair) -> tuple[datetime, datetime]:
    """Monday 00:00 to the next Monday 00:00 around ``moment``, in the mentee's zone."""
    local = moment.astimezone(pair.mentee.zone).date()
    monday = local - timedelta(days=local.weekday())
    return (
        datetime.combine(monday, time(0), pair.mentee.zone),
        datetime.combine(monday + timedelta(weeks=1), time(0), pair.mentee.zone),
    )


def watch_window(readings: Sequence[PairReading], now: datetime) -> tuple[datetime, datetime]:
    """The free/busy read a watch needs: from now to the end of the last watched session's
    week (free times are offered anywhere in that week)."""
    ends = [week_of(s.start, r.pair)[1] for r in readings for s in watched(r, now)]
    return now, max(ends, default=now)


def read_watch(provider: Provider, readings: Sequence[PairReading], now: datetime) -> Watch:
    """Read free/busy for everyone with a watched session, once, and find the clashes.

    A ``ProviderError`` from the read propagates (the caller decides whether the run goes on).
    """
    pairs = [r.pair for r in readings if watched(r, now)]
    if not pairs:
        return NOTHING
    zones = {p.email: p.timezone for pair in pairs for p in pair.people}
    start, end = watch_window(readings, now)
    busy = provider.busy(sorted(zones), start, end, zones=zones)
    return find_clashes(readings, busy, now, window=(start, end))


def find_clashes(
    readings: Sequence[PairReading],
    busy: BusyMap,
    now: datetime,
    *,
    window: tuple[datetime, datetime] | None = None,
) -> Watch:
    """Every clash over the watched sessions, given everyone's free/busy (pure)."""
    clashes: list[SessionClash] = []
    people: set[str] = set()
    count = pairs = 0
    for reading in readings:
        sessions = watched(reading, now)
        if not sessions:
            continue
        pair = reading.pair
        pairs += 1
        people.update(p.email for p in pair.people)
        count += len(sessions)
        own = [(s.start, s.end) for s in reading.health.sessions if s.will_happen]
        index = busy_index(pair, busy, {}, ignore=own)
        for session in sessions:
            for person in pair.people:
                if busy.get(person.email) is None:
                    continue  # unknown is not busy: reported, never mailed about
                if index[person.email].overlaps(session.start, session.end):
                    free = free_times(pair, session, index, now)
                    clashes.append(SessionClash(reading, session, person, free))
    unknown = tuple(sorted(e for e in people if e in busy and busy[e] is None))
    return Watch(
        window=window,
        people=len(people),
        sessions=count,
        pairs=pairs,
        clashes=tuple(clashes),
        unknown=unknown,
    )


def free_times(
    pair: Pair, session: Session, index: Mapping[str, BusyIndex], now: datetime
) -> tuple[datetime, ...]:
    """Up to three starts in the session's week when both are free and inside their hours.

    Nearest to the session first (its own day, then the days around it, each at the time of
    day closest to the session's), one a day before a second on the same day (a choice of days
    helps more than three neighbouring quarter hours); returned in time order.
    """
    length = session.end - session.start
    begin, end = week_of(session.start, pair)
    earliest = now + FREE_LEAD
    options = []
    moment = begin
    while moment + length <= end:
        if moment >= earliest and all(
            fits_window(p.zone, pair.window_of(p), moment, length)
            and not index[p.email].overlaps(moment, moment + length)
            for p in pair.people
        ):
            options.append(moment)
        moment += FREE_STEP
    zone = pair.mentee.zone
    usual = session.start.astimezone(zone)

    def nearness(moment: datetime) -> tuple[int, float, datetime]:
        """Same day first, then the days around it; on a day, the session's time of day."""
        local = moment.astimezone(zone)
        days = abs((local.date() - usual.date()).days)
        clock = abs((local - local.replace(hour=usual.hour, minute=usual.minute)).total_seconds())
        return days, clock, moment

    options.sort(key=nearness)
    chosen: list[datetime] = []
    days: set[object] = set()
    for moment in options:  # one a day first...
        day = moment.astimezone(zone).date()
        if day not in days and len(chosen) < FREE_TIMES:
            chosen.append(moment)
            days.add(day)
    for moment in options:  # ...then the nearest that do not overlap one already chosen
        if len(chosen) >= FREE_TIMES:
            break
        if all(abs(moment - other) >= length for other in chosen):
            chosen.append(moment)
    return tuple(sorted(chosen))
