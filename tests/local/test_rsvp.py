"""The rules an answer must pass before it changes a series file (RFC 5546, RFC 6047).

Each test writes a real series file with the provider, parses it afresh as the inbox does,
applies answers read from real reply messages, and reads the occurrences back.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from rmcal_providers.local import LocalProvider, ics
from rmcal_providers.local.replymail import Answer, read_reply_mail
from rmcal_providers.local.rsvp import Verdict, apply_answer

from rmcal.provider import Response
from tests.local.helpers import (
    FIXTURES,
    WIDE,
    by_day,
    created,
    london,
    oracle_starts,
    provider,
    spec,
)
from tests.local.reply_builder import imip_reply
from tests.zones import UTC

START = london(2025, 3, 19, 14, 0)  # Wednesdays 19 Mar - 23 Apr 2025, 14:00 London
T1 = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
T2 = T1 + timedelta(days=1)
T3 = T1 + timedelta(days=2)


@pytest.fixture
def made(tmp_path: Path) -> tuple[LocalProvider, str, Path]:
    p = provider(tmp_path)
    series = created(p, spec(start=START))
    return p, series.provider_id, p.calendars.path(series.key)


def parsed(p: LocalProvider, path: Path) -> ics.SeriesFile:
    return p.calendars.parse(path, path.read_bytes())


def answer_of(data: bytes) -> tuple[Answer, frozenset[str]]:
    mail = read_reply_mail(data)
    assert mail is not None
    (answer,) = mail.answers
    return answer, mail.senders


def apply(p: LocalProvider, path: Path, data: bytes) -> Verdict:
    """Apply one reply to the file on disk, and save the result (as the inbox would)."""
    series = parsed(p, path)
    verdict = apply_answer(series, *answer_of(data))
    if verdict.applied:
        p.calendars.write(path, series.calendar.to_ical())
    return verdict


def answers(p: LocalProvider, path: Path, who: str) -> dict[str, Response]:
    occurrences = parsed(p, path).occurrences(*WIDE)
    return {day: o.responses[who] for day, o in by_day(occurrences).items()}


def reply(uid: str, **kw: object) -> bytes:
    kw.setdefault("attendee", "bob@example.com")
    kw.setdefault("partstat", "DECLINED")
    kw.setdefault("stamp", T1)
    return imip_reply(uid=uid, **kw)  # type: ignore[arg-type]


def test_an_answer_for_the_series_is_every_sessions_answer(made) -> None:
    p, uid, path = made
    verdict = apply(p, path, reply(uid, start=START))
    assert verdict.applied and verdict.occurrence is None
    assert verdict.detail == (
        "bob@example.com declined every session of 'Reverse mentoring: Ann & Bob' "
        "(before: no answer)"
    )
    assert set(answers(p, path, "bob@example.com").values()) == {Response.DECLINED}
    assert set(answers(p, path, "ann@example.com").values()) == {Response.NONE}
    text = path.read_text()
    assert "X-RMCAL-DTSTAMP=20250310T090000Z" in text and "X-RMCAL-SEQUENCE=0" in text
    assert parsed(p, path).sequence == 0  # answering does not change the invitation


def test_outlook_declines_one_session_through_an_override(made) -> None:
    p, _, path = made
    data = (FIXTURES / "replies" / "outlook_decline_one_session.eml").read_bytes()
    verdict = apply(p, path, data)
    assert verdict.applied and verdict.occurrence == london(2025, 4, 2, 14, 0)
    assert "declined the session of Wed 02 Apr 2025 14:00 (Europe/London)" in verdict.detail
    bob = answers(p, path, "bob@example.com")
    assert bob.pop("04-02") is Response.DECLINED
    assert set(bob.values()) == {Response.NONE}
    assert oracle_starts(path) == sorted(  # another reader still sees six sessions, unmoved
        START.astimezone(UTC)
        + timedelta(weeks=n)
        + (timedelta(hours=-1) if n >= 2 else timedelta())
        for n in range(6)
    )


def test_apple_answers_one_session_tentatively(made) -> None:
    p, _, path = made
    data = (FIXTURES / "replies" / "apple_tentative_one_session.eml").read_bytes()
    assert apply(p, path, data).applied
    assert answers(p, path, "ann@example.com")["04-09"] is Response.TENTATIVE


@pytest.mark.parametrize("order", ["oldest first", "newest first"])
def test_the_newer_answer_wins_whatever_order_they_arrive_in(made, order: str) -> None:
    p, uid, path = made
    older = reply(uid, partstat="ACCEPTED", stamp=T1)
    newer = reply(uid, partstat="DECLINED", stamp=T2)
    first, second = (older, newer) if order == "oldest first" else (newer, older)
    assert apply(p, path, first).applied
    late = apply(p, path, second)
    assert late.applied is (order == "oldest first")
    if order == "newest first":
        assert "is older than the one recorded" in late.detail
    assert set(answers(p, path, "bob@example.com").values()) == {Response.DECLINED}


def test_a_higher_sequence_is_newer_than_a_later_stamp(made) -> None:
    p, uid, path = made
    assert apply(p, path, reply(uid, partstat="ACCEPTED", sequence=1, stamp=T1)).applied
    verdict = apply(p, path, reply(uid, partstat="DECLINED", sequence=0, stamp=T3))
    assert not verdict.applied and "SEQUENCE 1" in verdict.detail
    assert set(answers(p, path, "bob@example.com").values()) == {Response.ACCEPTED}


def test_the_same_answer_twice_changes_nothing_and_says_nothing(made) -> None:
    p, uid, path = made
    data = reply(uid)
    assert apply(p, path, data).applied
    before = path.read_bytes()
    again = apply(p, path, data)
    assert again.duplicate and not again.applied
    assert path.read_bytes() == before


def test_a_session_answer_older_than_the_series_answer_is_ignored(made) -> None:
    p, uid, path = made
    assert apply(p, path, reply(uid, partstat="ACCEPTED", stamp=T2)).applied
    session = london(2025, 4, 9, 14, 0)
    verdict = apply(p, path, reply(uid, session=session, stamp=T1))
    assert not verdict.applied and verdict.occurrence == session
    assert set(answers(p, path, "bob@example.com").values()) == {Response.ACCEPTED}


def test_a_newer_series_answer_reaches_sessions_answered_before_but_not_after(made) -> None:
    p, uid, path = made
    assert apply(p, path, reply(uid, session=london(2025, 4, 9, 14, 0), stamp=T1)).applied
    assert apply(p, path, reply(uid, session=london(2025, 4, 16, 14, 0), stamp=T3)).applied
    assert apply(p, path, reply(uid, partstat="ACCEPTED", stamp=T2)).applied
    bob = answers(p, path, "bob@example.com")
    assert bob["04-09"] is Response.ACCEPTED  # answered at T1, the series at T2 replaced it
    assert bob["04-16"] is Response.DECLINED  # answered at T3: newer than the series answer
    assert bob["03-19"] is Response.ACCEPTED


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("gmail_forwarded_invite_stranger_accepts.eml", "mallory@elsewhere.example is not invited"),
        ("reply_for_bob_sent_by_someone_else.eml", "sent by mallory@elsewhere.example"),
    ],
)
def test_a_stranger_changes_nothing(made, name: str, words: str) -> None:
    p, _, path = made
    before = path.read_bytes()
    verdict = apply(p, path, (FIXTURES / "replies" / name).read_bytes())
    assert not verdict.applied and words in verdict.detail
    assert path.read_bytes() == before


def test_an_answer_to_an_invitation_whose_time_changed_since_is_stale(made) -> None:
    p, uid, path = made
    current = parsed(p, path).to_series(str(path))
    moved = spec(start=START + timedelta(hours=2))
    p.update_series([(current, moved)])  # SEQUENCE 1, answers reset: a new time to answer
    verdict = apply(p, path, reply(uid, partstat="ACCEPTED", start=START, sequence=0))
    assert not verdict.applied and "answered an earlier invitation" in verdict.detail
    assert set(answers(p, path, "bob@example.com").values()) == {Response.NONE}


def test_an_answer_to_an_earlier_text_of_the_same_time_still_counts(made) -> None:
    p, uid, path = made
    current = parsed(p, path).to_series(str(path))
    p.update_series([(current, spec(start=START, title="Reverse mentoring: Ann and Bob"))])
    assert parsed(p, path).sequence == 1
    assert apply(p, path, reply(uid, start=START, sequence=0)).applied
    assert set(answers(p, path, "bob@example.com").values()) == {Response.DECLINED}


def test_answers_for_sessions_that_do_not_happen_change_nothing(made) -> None:
    p, uid, path = made
    key = parsed(p, path).key
    p.cancel_session(key, 3, how="exdate")  # 2 April
    before = path.read_bytes()
    cancelled = apply(p, path, reply(uid, session=london(2025, 4, 2, 14, 0)))
    assert not cancelled.applied and "cancelled" in cancelled.detail
    thursday = apply(p, path, reply(uid, session=london(2025, 4, 3, 14, 0)))
    assert not thursday.applied and "no session of this series starts" in thursday.detail
    ranged = reply(uid, session=london(2025, 4, 9, 14, 0)).replace(
        b"RECURRENCE-ID;", b"RECURRENCE-ID;RANGE=THISANDFUTURE;"
    )
    assert "RANGE=THISANDFUTURE" in apply(p, path, ranged).detail
    delegated = apply(p, path, reply(uid, partstat="DELEGATED"))
    assert not delegated.applied and "DELEGATED" in delegated.detail
    assert path.read_bytes() == before


def test_a_hand_written_override_without_the_attendee_gets_them_back(made) -> None:
    p, uid, path = made
    session = london(2025, 4, 9, 14, 0)
    text = path.read_text()
    override = (
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nRECURRENCE-ID;TZID=Europe/London:20250409T140000\r\n"
        "DTSTART;TZID=Europe/London:20250409T150000\r\nDTSTAMP:20250301T090000Z\r\n"
        "SUMMARY:Moved by hand\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:ann@example.com\r\n"
        "END:VEVENT\r\n"
    )
    path.write_text(text.replace("END:VCALENDAR", override + "END:VCALENDAR"), newline="")
    assert apply(p, path, reply(uid, session=session)).applied
    found = by_day(parsed(p, path).occurrences(*WIDE))["04-09"]
    assert found.start == london(2025, 4, 9, 15, 0)  # still where the person moved it
    assert found.responses["bob@example.com"] is Response.DECLINED
    assert found.responses["ann@example.com"] is Response.ACCEPTED
