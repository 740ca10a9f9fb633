"""Cadence health per pair: table-driven over whole little series lives.

Each case is a series (rule, zone, first start), what happened to some of its occurrences
(``cancel``, ``decline``, ``move``), a ``now`` and the reading we expect. Periods are shown as
a string, one letter per period: H held, M missed, . upcoming.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from rmcal.health import State, assess, snapshot_changed
from rmcal.model import Cadence, Pair, Person, Settings, Thresholds
from rmcal.periods import period_bounds
from rmcal.provider import Occurrence, Response, Series
from rmcal.recurrence import expand
from tests.builders import ANY_TIME

LONDON = ZoneInfo("Europe/London")
MENTOR = Person("ana@example.com", "Ana", "Europe/London")
MENTEE = Person("raj@example.com", "Raj", "Asia/Kolkata")
WEEK = timedelta(weeks=1)
DURATION = timedelta(minutes=45)
# Wednesday 13 January 2027, 14:00 London (winter, UTC+0).
FIRST = datetime(2027, 1, 13, 14, 0, tzinfo=LONDON)


def pair(sessions: int | None = 6, thresholds: Thresholds | None = None, **kw: object) -> Pair:
    kw.setdefault("window", ANY_TIME)
    settings = Settings(sessions=sessions, thresholds=thresholds or Thresholds(), **kw)  # type: ignore[arg-type]
    return Pair("c1", MENTOR, MENTEE, settings)


def series(
    rule: str = "FREQ=WEEKLY;BYDAY=WE;COUNT=6", first: datetime = FIRST, **kw: object
) -> Series:
    return Series(
        key="rmkey",
        provider_id="p1",
        title="t",
        start=first,
        duration=DURATION,
        timezone=str(first.tzinfo),
        rrule=rule,
        attendees=(MENTOR.email, MENTEE.email),
        tags={"key": "rmkey", "cohort": "c1", "pair": "x"},
        **kw,  # type: ignore[arg-type]
    )


@dataclass
class Life:
    """What happened to a series: 1-based session numbers -> event."""

    cancel: set[int] = field(default_factory=set)
    decline: dict[int, str] = field(default_factory=dict)  # number -> "mentor" | "mentee"
    move: dict[int, timedelta] = field(default_factory=dict)
    attended: dict[int, dict[str, int]] = field(default_factory=dict)


def occurrences(s: Series, life: Life) -> list[Occurrence]:
    out = []
    for number, start in enumerate(expand(s.rrule, s.start), start=1):
        moved = start + life.move.get(number, timedelta(0))
        who = life.decline.get(number)
        responses = {MENTOR.email: Response.ACCEPTED, MENTEE.email: Response.ACCEPTED}
        if who:
            responses[MENTOR.email if who == "mentor" else MENTEE.email] = Response.DECLINED
        out.append(
            Occurrence(
                series_key=s.key,
                original_start=start.astimezone(UTC),
                start=moved.astimezone(UTC),
                end=(moved + DURATION).astimezone(UTC),
                cancelled=number in life.cancel,
                responses=responses,
                attended_seconds=life.attended.get(number),
            )
        )
    return out


def after(n: int, first: datetime = FIRST, step: timedelta = WEEK) -> datetime:
    """Just after the n-th weekly session ended."""
    return first + step * (n - 1) + DURATION + timedelta(minutes=5)


@dataclass(frozen=True)
class Case:
    id: str
    now: datetime
    life: Life = field(default_factory=Life)
    rule: str = "FREQ=WEEKLY;BYDAY=WE;COUNT=6"
    first: datetime = FIRST
    pair: Pair = field(default_factory=pair)
    cancelled_series: bool = False
    # expected
    state: State = State.ON_TRACK
    periods: str = ""
    held: int = 0
    due: int = 0
    streak: int = 0
    missed_run: int = 0


# One row per case: the table reads better than the formatter's one-argument-per-line.
# fmt: off
CASES = [
    Case("before the first session", FIRST - timedelta(days=1), state=State.NOT_STARTED,
         periods="......"),
    Case("first session held", after(1), periods="H.....", held=1, due=1, streak=1),
    Case("three held", after(3), periods="HHH...", held=3, due=3, streak=3),
    Case("mentee declined the last one: at risk", after(3), Life(decline={3: "mentee"}),
         state=State.AT_RISK, periods="HHM...", held=2, due=3, missed_run=1),
    Case("a declined session is missed as soon as its slot is over, not at the week's end",
         after(2), Life(decline={2: "mentor"}), state=State.AT_RISK, periods="HM....",
         held=1, due=2, missed_run=1),
    Case("cancelled then declined: off track", after(3),
         Life(cancel={2}, decline={3: "mentee"}), state=State.OFF_TRACK, periods="HMM...",
         held=1, due=3, missed_run=2),
    Case("a held session after misses puts the pair back on track", after(4),
         Life(cancel={2}, decline={3: "mentee"}), periods="HMMH..", held=2, due=4, streak=1),
    Case("cancelled in the future changes nothing yet", after(2), Life(cancel={4}),
         periods="HH....", held=2, due=2, streak=2),
    Case("moved to Friday of the same week keeps the cadence",
         after(3) + 2 * timedelta(days=1), Life(move={3: timedelta(days=2)}), periods="HHH...",
         held=3, due=3, streak=3),
    Case("moved Wednesday -> Monday of the same week keeps the cadence", after(3),
         Life(move={3: -timedelta(days=2)}), periods="HHH...", held=3, due=3, streak=3),
    Case("moved but not yet held: the week is still open", after(3),
         Life(move={3: timedelta(days=2)}), periods="HH....", held=2, due=2, streak=2),
    Case("moved into next week leaves a gap", after(4),
         Life(move={3: timedelta(days=6)}), state=State.ON_TRACK, periods="HHMH..",
         held=4, due=4, streak=1),
    Case("no-show from measured attendance", after(2),
         Life(attended={1: {MENTOR.email: 2700, MENTEE.email: 2700}, 2: {MENTOR.email: 2700}}),
         state=State.AT_RISK, periods="HM....", held=1, due=2, missed_run=1),
    Case("all six held: completed", after(6), periods="HHHHHH", state=State.COMPLETED,
         held=6, due=6, streak=6),
    Case("completed even with misses", after(6), Life(cancel={2, 6}),
         state=State.COMPLETED, periods="HMHHHM", held=4, due=6, missed_run=1),
    Case("ended early (UNTIL after session 3), still running", after(2),
         rule="FREQ=WEEKLY;BYDAY=WE;UNTIL=20270127T140000Z", periods="HH.", held=2, due=2,
         streak=2),
    Case("ended early, after its last session", after(3) + WEEK,
         rule="FREQ=WEEKLY;BYDAY=WE;UNTIL=20270127T140000Z", state=State.ENDED,
         periods="HHH", held=3, due=3, streak=3),
    Case("series cancelled in the calendar", after(2), cancelled_series=True,
         state=State.ENDED, periods="HH....", held=2, due=2, streak=2),
    Case("off-track threshold from config", after(3), Life(cancel={2, 3}),
         pair=pair(thresholds=Thresholds(off_track_missed=3)), state=State.AT_RISK,
         periods="HMM...", held=1, due=3, missed_run=2),
    Case("at-risk threshold from config", after(2), Life(cancel={2}),
         pair=pair(thresholds=Thresholds(at_risk_missed=2, off_track_missed=3)),
         state=State.ON_TRACK, periods="HM....", held=1, due=2, missed_run=1),
    # DST: Europe/London springs forward on Sunday 28 March 2027. A Monday 00:30 session is
    # Sunday 23:30 UTC in summer: UTC-based weeks would put two sessions in one week.
    Case("DST week: Monday 00:30 London stays in its own week",
         after(4, datetime(2027, 3, 15, 0, 30, tzinfo=LONDON)),
         rule="FREQ=WEEKLY;BYDAY=MO;COUNT=6",
         first=datetime(2027, 3, 15, 0, 30, tzinfo=LONDON),
         periods="HHHH..", held=4, due=4, streak=4),
    Case("DST week in the southern hemisphere (Sydney ends DST 4 April 2027)",
         after(3, datetime(2027, 3, 22, 0, 15, tzinfo=ZoneInfo("Australia/Sydney"))),
         rule="FREQ=WEEKLY;BYDAY=MO;COUNT=6",
         first=datetime(2027, 3, 22, 0, 15, tzinfo=ZoneInfo("Australia/Sydney")),
         life=Life(decline={3: "mentee"}), state=State.AT_RISK, periods="HHM...", held=2,
         due=3, missed_run=1),
    Case("every 2 weeks: moved one week later still in its period",
         after(2, step=2 * WEEK) + WEEK, rule="FREQ=WEEKLY;INTERVAL=2;BYDAY=WE;COUNT=4",
         life=Life(move={2: WEEK}), periods="HH..", held=2, due=2, streak=2),
    Case("monthly (second Wednesday): periods are calendar months",
         datetime(2027, 4, 1, tzinfo=UTC), rule="FREQ=MONTHLY;BYDAY=2WE;COUNT=4",
         life=Life(move={2: timedelta(days=14)}, decline={3: "mentor"}), state=State.AT_RISK,
         periods="HHM.", held=2, due=3, missed_run=1),
]
# fmt: on


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_health(case: Case) -> None:
    s = series(case.rule, case.first, cancelled=case.cancelled_series)
    health = assess(case.pair, s, occurrences(s, case.life), case.now)
    got = (
        health.state,
        health.snapshot()["periods"],
        health.sessions_held,
        health.sessions_due,
        health.streak,
        health.missed_run,
    )
    assert got == (case.state, case.periods, case.held, case.due, case.streak, case.missed_run)


def test_no_series_is_not_started_and_says_why() -> None:
    health = assess(pair(), None, [], FIRST)
    assert health.state is State.NOT_STARTED
    assert "rmcal schedule" in health.why


def test_attention_reading_names_the_misses_and_the_next_session() -> None:
    s = series()
    health = assess(pair(), s, occurrences(s, Life(cancel={2}, decline={3: "mentee"})), after(3))
    assert health.why == (
        "missed 2 weeks in a row: Wed 20 Jan: cancelled; Wed 27 Jan: declined by mentee"
    )
    assert health.next_session is not None and health.next_session.number == 4
    assert health.run_start == datetime(2027, 1, 18, tzinfo=LONDON)
    assert health.last_held == (FIRST + DURATION).astimezone(UTC)
    assert health.days_since_held == 14


def test_next_session_skips_cancelled_and_declined_ones() -> None:
    s = series()
    health = assess(pair(), s, occurrences(s, Life(cancel={2}, decline={3: "mentor"})), after(1))
    assert health.next_session is not None and health.next_session.number == 4


def test_longest_streak_survives_a_miss() -> None:
    s = series()
    health = assess(pair(), s, occurrences(s, Life(cancel={4})), after(5))
    assert (health.streak, health.longest_streak) == (1, 3)


def test_planned_sessions_from_an_end_date() -> None:
    p = pair(sessions=None, end_date=date(2027, 2, 3))
    s = series("FREQ=WEEKLY;BYDAY=WE;UNTIL=20270203T235959Z")
    health = assess(p, s, occurrences(s, Life()), after(4))
    assert (health.sessions_planned, health.state) == (4, State.COMPLETED)


def test_cadence_of_config_is_not_used_when_the_calendar_says_otherwise() -> None:
    # The calendar is the truth: the config says monthly, the series in the calendar is weekly.
    p = pair(cadence=Cadence("monthly", text="monthly"))
    s = series()
    assert assess(p, s, occurrences(s, Life()), after(2)).snapshot()["periods"] == "HH...."


def test_period_bounds_are_local_midnights_across_dst() -> None:
    starts = [datetime(2027, 3, d, 0, 30, tzinfo=LONDON) for d in (22, 29)]
    bounds = period_bounds(starts, "FREQ=WEEKLY;BYDAY=MO", "Europe/London")
    assert [(a.isoformat(), b.isoformat()) for a, b in bounds] == [
        ("2027-03-22T00:00:00+00:00", "2027-03-29T00:00:00+01:00"),
        ("2027-03-29T00:00:00+01:00", "2027-04-05T00:00:00+01:00"),
    ]


def test_snapshot_changes_only_when_the_reading_does() -> None:
    s = series()
    one = assess(pair(), s, occurrences(s, Life()), after(1)).snapshot()
    later_same = assess(pair(), s, occurrences(s, Life()), after(1) + timedelta(days=2)).snapshot()
    two = assess(pair(), s, occurrences(s, Life()), after(2)).snapshot()
    assert not snapshot_changed(one, later_same)
    assert snapshot_changed(one, two)
    assert snapshot_changed(None, one)
    assert snapshot_changed(one, {**one, "state": "at risk"})


# -- one unit: periods, with sessions in them -------------------------------------------------


def test_counts_are_in_periods_and_name_the_sessions_when_they_differ() -> None:
    # Session 3 moved from Wed 27 Jan to Tue 02 Feb: all six sessions held, one week without.
    s = series()
    health = assess(pair(), s, occurrences(s, Life(move={3: timedelta(days=6)})), after(6))
    assert health.snapshot()["periods"] == "HHMHHH"
    assert (health.state, health.why) == (State.COMPLETED, "held 5 of 6 weeks (6 sessions)")
    assert (health.periods_held, health.periods_due, health.periods_planned) == (5, 6, 6)
    assert (health.sessions_held, health.sessions_planned) == (6, 6)


def test_a_pair_at_risk_never_reads_as_having_held_everything_due() -> None:
    # Week 3 is over; its session moved into week 4 and has not happened yet.
    s = series()
    now = datetime(2027, 2, 1, 9, 0, tzinfo=LONDON)
    health = assess(pair(), s, occurrences(s, Life(move={3: timedelta(days=6)})), now)
    assert health.state is State.AT_RISK
    assert (health.periods_held, health.periods_due) == (2, 3)
    assert health.why == "missed 1 week: Wed 27 Jan: moved to Tue 02 Feb"


@pytest.mark.parametrize(
    ("rule", "unit"),
    [
        ("FREQ=WEEKLY;BYDAY=WE;COUNT=6", "week"),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=WE;COUNT=6", "fortnight"),
        ("FREQ=WEEKLY;INTERVAL=3;BYDAY=WE;COUNT=6", "3-week period"),
        ("FREQ=MONTHLY;BYDAY=2WE;COUNT=6", "month"),
    ],
)
def test_the_unit_is_named_after_the_series_rule(rule: str, unit: str) -> None:
    s = series(rule)
    assert assess(pair(), s, occurrences(s, Life()), after(1)).unit.one == unit


# -- how a pair finished -------------------------------------------------------------------------


def test_a_series_declined_throughout_never_started_rather_than_completed() -> None:
    s = series("FREQ=WEEKLY;BYDAY=WE;COUNT=8")
    life = Life(decline=dict.fromkeys(range(1, 9), "mentor"))
    health = assess(pair(sessions=8), s, occurrences(s, life), after(8))
    assert health.state is State.NEVER_STARTED
    assert health.why == "no session held in 8 weeks (declined by mentor: 8)"


def test_completed_says_how_many_were_held_and_ended_early_how_far_it_ran() -> None:
    s = series()
    partial = assess(pair(), s, occurrences(s, Life(cancel={2, 6})), after(6))
    assert (partial.state, partial.why) == (State.COMPLETED, "held 4 of 6 weeks")
    short = series("FREQ=WEEKLY;BYDAY=WE;UNTIL=20270127T140000Z")
    ended = assess(pair(), short, occurrences(short, Life(cancel={2})), after(4))
    assert (ended.state, ended.why) == (State.ENDED, "ran 3 of 6 weeks; held 2 of 3 weeks")
    cancelled = assess(pair(), series(cancelled=True), [], after(1))
    assert cancelled.state is State.NEVER_STARTED


# -- a whole series declined --------------------------------------------------------------------


def test_a_series_declined_before_it_starts_is_known_at_once() -> None:
    s = series()
    life = Life(decline=dict.fromkeys(range(1, 7), "mentee"))
    health = assess(pair(), s, occurrences(s, life), FIRST - timedelta(days=3))
    assert health.state is State.DECLINED and health.needs_attention
    assert health.declined_by == ("mentee",)
    assert health.why == "the mentee declined every remaining session (6, from Wed 13 Jan)"
    assert health.run_start is None  # the pair is not nudged: the lead talks to them


def test_the_rest_of_a_series_declined_midway_and_by_both() -> None:
    s = series()
    mentor = Life(decline={4: "mentor", 5: "mentor", 6: "mentor"})
    health = assess(pair(), s, occurrences(s, mentor), after(3))
    assert (health.state, health.declined_by) == (State.DECLINED, ("mentor",))
    mixed = Life(decline={5: "mentor", 6: "mentee"})
    both = assess(pair(), s, occurrences(s, mixed), after(4))
    assert both.why == "the mentor and mentee declined every remaining session (2, from Wed 10 Feb)"


def test_one_declined_last_session_is_not_a_declined_series() -> None:
    s = series()
    health = assess(pair(), s, occurrences(s, Life(decline={6: "mentee"})), after(5))
    assert health.state is State.ON_TRACK


# -- held, but -------------------------------------------------------------------------------------


def test_sessions_held_outside_hours_are_counted_and_said() -> None:
    # Ana keeps Mon-Fri 09:00-17:00 London; Raj takes any time.
    night_owl = Person(MENTEE.email, MENTEE.name, MENTEE.timezone, window=ANY_TIME)
    p = Pair("c1", MENTOR, night_owl, Settings(sessions=6))
    s = series()
    occ = occurrences(s, Life(move={2: timedelta(hours=6)}))  # Wed 20 Jan 20:00 London
    health = assess(p, s, occ, after(3))
    assert (health.state, health.held_outside_hours, health.held_by_delegate) == (
        State.ON_TRACK,
        1,
        0,
    )
    assert health.why == "held 3 of 3 weeks; 1 held outside hours"
    assert health.sessions[1].note == "held at 20:00 London, outside Ana's hours"


def test_a_session_held_by_a_delegate_is_counted_and_said() -> None:
    s = series()
    occ = occurrences(s, Life())
    occ[0] = replace(
        occ[0], responses={MENTOR.email: Response.DELEGATED, "sub@example.com": Response.ACCEPTED}
    )
    health = assess(pair(), s, occ, after(2))
    assert (health.periods_held, health.held_by_delegate) == (2, 1)
    assert health.why == "held 2 of 2 weeks; 1 held by delegate"
    assert health.sessions[0].note == "held by delegate (sub@example.com for the mentor)"
