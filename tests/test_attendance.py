"""Classifying one occurrence: held / missed (and why) / upcoming, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rmcal.attendance import MissReason, Outcome, classify, classify_series
from rmcal.model import Pair, Person, Settings, Thresholds
from rmcal.provider import Occurrence, Response
from tests.builders import ANY_TIME, window

MENTOR = Person("ana@example.com", "Ana", "Europe/London")
MENTEE = Person("raj@example.com", "Raj", "Asia/Kolkata")
PAIR = Pair("c1", MENTOR, MENTEE, Settings(window=ANY_TIME))
START = datetime(2027, 1, 13, 14, 0, tzinfo=UTC)
END = START + timedelta(minutes=45)
BEFORE = START - timedelta(hours=1)
DURING = START + timedelta(minutes=10)
AFTER = END + timedelta(minutes=1)
SLOT = 45 * 60

A, D, N, T = Response.ACCEPTED, Response.DECLINED, Response.NONE, Response.TENTATIVE


def occ(
    *,
    cancelled: bool = False,
    mentor: Response = A,
    mentee: Response = A,
    attended: dict[str, int] | None = None,
    moved: timedelta = timedelta(0),
) -> Occurrence:
    return Occurrence(
        series_key="k",
        original_start=START,
        start=START + moved,
        end=END + moved,
        cancelled=cancelled,
        responses={MENTOR.email: mentor, MENTEE.email: mentee},
        attended_seconds=attended,
    )


CASES = [
    # (id, occurrence, now, outcome, reason, confirmed)
    ("future", occ(), BEFORE, Outcome.UPCOMING, None, False),
    ("in progress", occ(), DURING, Outcome.UPCOMING, None, False),
    ("held, unmeasured", occ(), AFTER, Outcome.HELD, None, False),
    ("held, no answers", occ(mentor=N, mentee=T), AFTER, Outcome.HELD, None, False),
    ("cancelled, past", occ(cancelled=True), AFTER, Outcome.MISSED, MissReason.CANCELLED, False),
    (
        "cancelled, future: known already",
        occ(cancelled=True),
        BEFORE,
        Outcome.UPCOMING,
        MissReason.CANCELLED,
        False,
    ),
    ("mentor declined", occ(mentor=D), AFTER, Outcome.MISSED, MissReason.DECLINED_MENTOR, False),
    ("mentee declined", occ(mentee=D), AFTER, Outcome.MISSED, MissReason.DECLINED_MENTEE, False),
    (
        "both declined",
        occ(mentor=D, mentee=D),
        AFTER,
        Outcome.MISSED,
        MissReason.DECLINED_BOTH,
        False,
    ),
    (
        "declined, future",
        occ(mentee=D),
        BEFORE,
        Outcome.UPCOMING,
        MissReason.DECLINED_MENTEE,
        False,
    ),
    (
        "cancelled wins over declined",
        occ(cancelled=True, mentee=D),
        AFTER,
        Outcome.MISSED,
        MissReason.CANCELLED,
        False,
    ),
    (
        "measured: both joined the whole slot",
        occ(attended={MENTOR.email: SLOT, MENTEE.email: SLOT}),
        AFTER,
        Outcome.HELD,
        None,
        True,
    ),
    (
        "measured: exactly the share counts",
        occ(attended={MENTOR.email: SLOT // 2, MENTEE.email: SLOT // 2}),
        AFTER,
        Outcome.HELD,
        None,
        True,
    ),
    (
        "measured: mentee left early",
        occ(attended={MENTOR.email: SLOT, MENTEE.email: SLOT // 2 - 60}),
        AFTER,
        Outcome.MISSED,
        MissReason.NO_SHOW_MENTEE,
        False,
    ),
    (
        "measured: mentor never joined",
        occ(attended={MENTEE.email: SLOT}),
        AFTER,
        Outcome.MISSED,
        MissReason.NO_SHOW_MENTOR,
        False,
    ),
    (
        "measured: nobody joined",
        occ(attended={}),
        AFTER,
        Outcome.MISSED,
        MissReason.NO_SHOW_BOTH,
        False,
    ),
    (
        "moved later: upcoming at the old end",
        occ(moved=timedelta(days=2)),
        AFTER,
        Outcome.UPCOMING,
        None,
        False,
    ),
    (
        "moved earlier: held before the old start",
        occ(moved=-timedelta(days=1)),
        BEFORE,
        Outcome.HELD,
        None,
        False,
    ),
]


@pytest.mark.parametrize(
    ("occurrence", "now", "outcome", "reason", "confirmed"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_classify(
    occurrence: Occurrence,
    now: datetime,
    outcome: Outcome,
    reason: MissReason | None,
    confirmed: bool,
) -> None:
    session = classify(occurrence, PAIR, now, Thresholds())
    assert (session.outcome, session.reason, session.confirmed) == (outcome, reason, confirmed)


def test_confirmed_share_comes_from_thresholds() -> None:
    attended = {MENTOR.email: int(SLOT * 0.6), MENTEE.email: SLOT}
    lenient = classify(occ(attended=attended), PAIR, AFTER, Thresholds(confirmed_share=0.5))
    strict = classify(occ(attended=attended), PAIR, AFTER, Thresholds(confirmed_share=0.8))
    assert lenient.outcome is Outcome.HELD and lenient.confirmed
    assert strict.outcome is Outcome.MISSED and strict.reason is MissReason.NO_SHOW_MENTOR


def test_responses_match_emails_case_insensitively() -> None:
    occurrence = Occurrence(
        "k", START, START, END, responses={"RAJ@Example.com": Response.DECLINED}
    )
    assert classify(occurrence, PAIR, AFTER, Thresholds()).reason is MissReason.DECLINED_MENTEE


def test_series_is_numbered_by_original_slot_and_cancelled_ones_keep_their_number() -> None:
    week = timedelta(weeks=1)
    occurrences = [
        Occurrence("k", START + week * i, START + week * i, END + week * i, cancelled=(i == 1))
        for i in (2, 0, 1)  # out of order on purpose
    ]
    sessions = classify_series(occurrences, PAIR, START + 3 * week, Thresholds())
    assert [(s.number, s.total, s.outcome) for s in sessions] == [
        (1, 3, Outcome.HELD),
        (2, 3, Outcome.MISSED),
        (3, 3, Outcome.HELD),
    ]
    assert [s.will_happen for s in classify_series(occurrences, PAIR, BEFORE, Thresholds())] == [
        True,
        False,
        True,
    ]


# -- held, but: outside someone's hours, or by a delegate ---------------------------------------

LONDON_PAIR = Pair(
    "c1",
    MENTOR,
    Person("tom@example.com", "Tom", "America/New_York"),
    Settings(window=window("08:00", "18:00")),
)
WED_20H = datetime(2027, 1, 13, 20, 0, tzinfo=UTC)  # Wed 20:00 London (winter), 15:00 New York


def moved_to(when: datetime, pair: Pair = LONDON_PAIR) -> Occurrence:
    return Occurrence(
        "k",
        START,
        when,
        when + timedelta(minutes=45),
        responses={pair.mentor.email: A, pair.mentee.email: A},
    )


def test_a_session_moved_outside_hours_is_held_and_says_where_it_went() -> None:
    session = classify(moved_to(WED_20H), LONDON_PAIR, WED_20H + timedelta(hours=1), Thresholds())
    assert session.outcome is Outcome.HELD and session.reason is None
    assert session.outside_hours == (MENTOR,)  # 15:00 in New York is inside Tom's hours
    assert session.note == "held at 20:00 London, outside Ana's hours"


def test_outside_both_peoples_hours_names_both_local_times() -> None:
    at_night = datetime(2027, 1, 14, 3, 0, tzinfo=UTC)  # 03:00 London, 22:00 New York
    session = classify(moved_to(at_night), LONDON_PAIR, at_night + timedelta(hours=1), Thresholds())
    assert session.note == "held at 03:00 London / 22:00 New York, outside both people's hours"


def test_inside_hours_or_cancelled_has_no_note() -> None:
    inside = datetime(2027, 1, 13, 15, 0, tzinfo=UTC)  # 15:00 London, 10:00 New York
    assert classify(moved_to(inside), LONDON_PAIR, WED_20H, Thresholds()).note is None
    cancelled = Occurrence("k", START, WED_20H, WED_20H + timedelta(minutes=45), cancelled=True)
    gone = classify(cancelled, LONDON_PAIR, WED_20H + timedelta(hours=1), Thresholds())
    assert gone.outside_hours == () and gone.note is None


def test_an_upcoming_session_outside_hours_is_to_be_held_there() -> None:
    session = classify(moved_to(WED_20H), LONDON_PAIR, BEFORE, Thresholds())
    assert session.note == "to be held at 20:00 London, outside Ana's hours"


DEPUTY = "deputy@example.com"
DL = Response.DELEGATED


@pytest.mark.parametrize(
    ("responses", "outcome", "reason", "delegate", "roles"),
    [
        # RFC 5545 delegation: PARTSTAT=DELEGATED, the delegate listed beside.
        ({MENTOR.email: A, MENTEE.email: DL, DEPUTY: A}, Outcome.HELD, None, DEPUTY, ("mentee",)),
        # Graph/Google have no such answer: the mentee left off, a stranger in their place.
        ({MENTOR.email: A, DEPUTY: N}, Outcome.HELD, None, DEPUTY, ("mentee",)),
        # The delegate declined too: nobody in the mentee's place.
        (
            {MENTOR.email: A, MENTEE.email: DL, DEPUTY: D},
            Outcome.MISSED,
            MissReason.DECLINED_MENTEE,
            None,
            (),
        ),
        # A plain decline stays a decline, whoever else is invited.
        (
            {MENTOR.email: A, MENTEE.email: D, DEPUTY: A},
            Outcome.MISSED,
            MissReason.DECLINED_MENTEE,
            None,
            (),
        ),
        # A partial list (only the stranger) proves nothing about who was left off.
        ({DEPUTY: A}, Outcome.HELD, None, None, ()),
        # An organizer in the list is not a delegate.
        ({MENTOR.email: A, "rm@example.com": Response.ORGANIZER}, Outcome.HELD, None, None, ()),
    ],
    ids=[
        "delegated",
        "left off, someone else on it",
        "delegate declined",
        "declined with a guest",
        "partial list",
        "organizer",
    ],
)
def test_delegates(
    responses: dict[str, Response],
    outcome: Outcome,
    reason: MissReason | None,
    delegate: str | None,
    roles: tuple[str, ...],
) -> None:
    session = classify(
        Occurrence("k", START, START, END, responses=responses), PAIR, AFTER, Thresholds()
    )
    assert (session.outcome, session.reason, session.delegate, session.stood_in_for) == (
        outcome,
        reason,
        delegate,
        roles,
    )
    if delegate:
        assert session.note == f"held by delegate ({DEPUTY} for the mentee)"


def test_a_delegates_measured_time_counts_for_the_person_they_stood_in_for() -> None:
    responses = {MENTOR.email: A, MENTEE.email: DL, DEPUTY: A}
    joined = Occurrence(
        "k",
        START,
        START,
        END,
        responses=responses,
        attended_seconds={MENTOR.email: SLOT, DEPUTY: SLOT},
    )
    session = classify(joined, PAIR, AFTER, Thresholds())
    assert session.held and session.confirmed and session.delegate == DEPUTY
    absent = Occurrence(
        "k", START, START, END, responses=responses, attended_seconds={MENTOR.email: SLOT}
    )
    assert classify(absent, PAIR, AFTER, Thresholds()).reason is MissReason.NO_SHOW_MENTEE


def test_who_declined_is_kept_per_session() -> None:
    both = classify(occ(mentor=D, mentee=D), PAIR, AFTER, Thresholds())
    assert both.declined_by == ("mentor", "mentee")
    assert classify(occ(mentee=D), PAIR, AFTER, Thresholds()).declined_by == ("mentee",)
    assert classify(occ(), PAIR, AFTER, Thresholds()).declined_by == ()
