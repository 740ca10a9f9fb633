"""The slot search finds every slot a brute force over a 15-minute grid finds.

The oracle shares no code with ``rmcal.slots`` or ``rmcal.recurrence``: it walks every UTC
quarter hour of the first week, reads it as a wall time in each zone the search tries, expands
the weekly series with dateutil directly and checks each session in each person's zone with its
own arithmetic. Zones with :30 and :45 offsets (and DST that moves by 30 minutes) are where a
half-hour search used to miss slots.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import WEEKLY, rrule
from hypothesis import given, settings
from hypothesis import strategies as st

from rmcal.model import FixedSlot, Pair
from rmcal.slots import Candidate, NoSlot, Slot, candidates, find_slot, zone_preference
from tests.builders import pair, person, window
from tests.zones import KATHMANDU, KOLKATA, LONDON, NEW_YORK, SYDNEY, tz

BERLIN = "Europe/Berlin"
ODD_ZONES = [
    KATHMANDU,  # +05:45
    KOLKATA,  # +05:30
    "Australia/Adelaide",  # +09:30 / +10:30
    "Australia/Eucla",  # +08:45
    "America/St_Johns",  # -03:30 / -02:30
    "Pacific/Chatham",  # +12:45 / +13:45
    "Australia/Lord_Howe",  # +10:30 / +11:00 (a 30-minute DST shift)
    "Asia/Tehran",  # +03:30
]
PLAIN_ZONES = [LONDON, BERLIN, NEW_YORK, SYDNEY, "America/Los_Angeles"]
UTC = ZoneInfo("UTC")


def _inside(p: Pair, moment: datetime, length: timedelta) -> bool:
    """Both people are inside their windows for the whole session, on one local day each."""
    for who in p.people:
        win = p.window_of(who)
        local = moment.astimezone(ZoneInfo(who.timezone))
        local_end = (moment + length).astimezone(ZoneInfo(who.timezone))
        minute = local.hour * 60 + local.minute
        end_minute = minute + length // timedelta(minutes=1)
        same_day = local_end.date() == local.date() or (
            local_end.date() == local.date() + timedelta(days=1) and local_end.time() == time(0)
        )
        if not (local.weekday() in win.days and win.start_minute <= minute):
            return False
        if not (end_minute <= win.end_minute and same_day):
            return False
    return True


def brute_force(p: Pair, start: date, zones: list[str]) -> list[tuple[str, int, int, date]]:
    """Every (zone, weekday, minute, first day) whose weekly series fits both windows at every
    session, for starts on the quarter hours of UTC in the first week."""
    length = p.settings.duration
    cadence = p.settings.cadence
    count = p.settings.sessions or 1
    found = []
    for zone_name in zones:
        zone = ZoneInfo(zone_name)
        instant = datetime.combine(start - timedelta(days=1), time(0), UTC)
        seen = set()
        while instant < datetime.combine(start + timedelta(days=9), time(0), UTC):
            local = instant.astimezone(zone)
            instant += timedelta(minutes=15)
            wall = local.replace(tzinfo=None, fold=0)
            if not start <= wall.date() < start + timedelta(days=7) or wall in seen:
                continue
            seen.add(wall)
            if not _inside(p, wall.replace(tzinfo=zone), length):
                continue  # the first session already fails
            rule = rrule(WEEKLY, interval=cadence.interval, count=count, dtstart=wall)
            sessions = [moment.replace(tzinfo=zone) for moment in rule]
            if all(_inside(p, moment, length) for moment in sessions):
                found.append((zone_name, wall.weekday(), wall.hour * 60 + wall.minute, wall.date()))
    return found


def test_a_kathmandu_mentor_meets_a_berlin_mentee_at_a_quarter_to():
    # Mentor hours 13:00-14:30 in Kathmandu (UTC+05:45): 45 minutes from 13:45 is the only time
    # that is also inside Berlin's 09:00-17:00 in winter (09:00) and in summer (10:00).
    p = pair(
        person("mentor", KATHMANDU, window("13:00", "14:30")),
        person("mentee", BERLIN),
        sessions=40,
    )
    slot = find_slot(p, date(2027, 3, 1), {}, programme_zone=LONDON)
    assert isinstance(slot, Slot)
    assert slot.describe() == "Mon 13:45 Asia/Kathmandu"
    berlin = {s.astimezone(tz(BERLIN)).strftime("%H:%M") for s in slot.starts}
    assert berlin == {"09:00", "10:00"}
    # The same slot given by hand holds, as it always did.
    fixed = pair(p.mentor, p.mentee, sessions=40, fixed=FixedSlot(0, 13 * 60 + 45, KATHMANDU))
    assert isinstance(find_slot(fixed, date(2027, 3, 1), {}, programme_zone=LONDON), Slot)


def test_a_window_that_opens_off_the_quarter_hour_is_a_start_of_its_own():
    # 45 minutes inside 09:10-09:55 can only start at 09:10.
    p = pair(
        person("mentor", LONDON, window("09:10", "09:55")),
        person("mentee", LONDON),
        sessions=4,
    )
    slot = find_slot(p, date(2027, 3, 1), {}, programme_zone=LONDON)
    assert isinstance(slot, Slot)
    assert slot.describe() == "Mon 09:10 Europe/London"


WINDOW_STARTS = st.integers(6 * 4, 18 * 4).map(lambda q: q * 15)


@settings(max_examples=70, deadline=None)
@given(
    mentor_zone=st.sampled_from(ODD_ZONES + PLAIN_ZONES),
    mentee_zone=st.sampled_from(ODD_ZONES + PLAIN_ZONES),
    mentor_open=WINDOW_STARTS,
    mentee_open=WINDOW_STARTS,
    mentor_extra=st.integers(0, 8).map(lambda q: q * 15),
    mentee_extra=st.integers(0, 8).map(lambda q: q * 15),
    minutes=st.sampled_from([30, 45, 60]),
    start=st.dates(date(2027, 1, 1), date(2028, 12, 31)),
    sessions=st.integers(1, 30),
    every=st.integers(1, 2),
)
def test_the_search_finds_every_slot_the_brute_force_finds(
    mentor_zone,
    mentee_zone,
    mentor_open,
    mentee_open,
    mentor_extra,
    mentee_extra,
    minutes,
    start,
    sessions,
    every,
):
    from rmcal.model import Cadence

    def hours(opening: int, extra: int) -> tuple[str, str]:
        close = min(opening + minutes + extra, 24 * 60)
        return f"{opening // 60:02d}:{opening % 60:02d}", f"{close // 60:02d}:{close % 60:02d}"

    p = pair(
        person("mentor", mentor_zone, window(*hours(mentor_open, mentor_extra), days=range(7))),
        person("mentee", mentee_zone, window(*hours(mentee_open, mentee_extra), days=range(7))),
        sessions=sessions,
        minutes=minutes,
        cadence=Cadence("weekly", every, None, f"every {every} weeks"),
    )
    zones = zone_preference(p, LONDON)
    oracle = brute_force(p, start, zones)
    result = find_slot(p, start, {}, programme_zone=LONDON)
    if not oracle:
        assert isinstance(result, NoSlot)
        return
    # Every slot the brute force finds is one the search tries...
    tried = set(candidates(p, zones, start))
    missing = [o for o in oracle if Candidate(o[0], o[1], o[2]) not in tried]
    assert not missing
    # ...so it finds one, on the earliest day any slot starts, and it fits every session.
    assert isinstance(result, Slot), result.reason
    assert result.first.date() == min(o[3] for o in oracle)
    assert all(_inside(p, moment, p.settings.duration) for moment in result.starts)
