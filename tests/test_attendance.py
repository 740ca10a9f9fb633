"""Classifying one occurrence: held / missed (and why) / upcoming, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rmcal.attendance import MissReason, Outcome, classify, classify_series
from rmcal.model import Pair, Person, Settings, Thresholds
from rmcal.provider import Occurrence, Response

MENTOR = Person("ana@example.com", "Ana", "Europe/London")
MENTEE = Person("raj@example.com", "Raj", "Asia/Kolkata")
PAIR = Pair("c1", MENTOR, MENTEE, Settings())
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
