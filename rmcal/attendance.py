"""What happened to each occurrence: held, missed (and why) or still upcoming.

Why a module of its own: every later judgement (cadence health, which feedback e-mail is due,
the digest's heatmap) rests on one reading of the calendar, and that reading must be the same
everywhere. It is a pure function of (occurrence, pair, now, thresholds); the calendar, never
rmcal's memory of what it created, is the source.

Rules, in order:

1. A cancelled occurrence is missed (``cancelled``) once its slot has passed.
2. A declined occurrence (by the mentor, the mentee or both) is missed once its slot has passed.
3. Where the platform measures attendance (``attended_seconds`` is not ``None``), a person who
   joined for less than ``thresholds.confirmed_share`` of the slot is a no-show; if both joined
   long enough the session is *held and confirmed*.
4. Otherwise a session whose end has passed is held (unconfirmed: nobody measured it).

Moved occurrences are judged at their new time. Before its end an occurrence is upcoming; a
cancelled or declined upcoming occurrence carries its ``reason`` already, so that callers can
skip it as "next session" and leave it out of agendas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import partial

from rmcal.model import Pair, Thresholds
from rmcal.provider import Occurrence, Response


class Outcome(StrEnum):
    HELD = "held"
    MISSED = "missed"
    UPCOMING = "upcoming"


class MissReason(StrEnum):
    """Why a session did not take place, in the words a lead reads in the digest."""

    CANCELLED = "cancelled"
    DECLINED_MENTOR = "declined by mentor"
    DECLINED_MENTEE = "declined by mentee"
    DECLINED_BOTH = "declined by both"
    NO_SHOW_MENTOR = "no-show: mentor"
    NO_SHOW_MENTEE = "no-show: mentee"
    NO_SHOW_BOTH = "no-show: both"


@dataclass(frozen=True)
class Session:
    """One occurrence of a pair's series, numbered and judged.

    ``number`` counts from 1 in order of the original slots (cancelled ones keep their number,
    so "session 4" means the same thing in the agenda, the feedback form and the digest).
    ``reason`` is set for missed sessions and for upcoming ones that, as things stand, will not
    take place (cancelled or declined).
    """

    occurrence: Occurrence
    number: int
    total: int
    outcome: Outcome
    reason: MissReason | None = None
    confirmed: bool = False

    @property
    def start(self) -> datetime:
        return self.occurrence.start

    @property
    def end(self) -> datetime:
        return self.occurrence.end

    @property
    def original_start(self) -> datetime:
        return self.occurrence.original_start

    @property
    def held(self) -> bool:
        return self.outcome is Outcome.HELD

    @property
    def missed(self) -> bool:
        return self.outcome is Outcome.MISSED

    @property
    def upcoming(self) -> bool:
        return self.outcome is Outcome.UPCOMING

    @property
    def will_happen(self) -> bool:
        """Upcoming and, as the calendar stands, going ahead (not cancelled, nobody declined)."""
        return self.upcoming and self.reason is None


def _declined(occurrence: Occurrence, pair: Pair) -> MissReason | None:
    responses = {email.lower(): answer for email, answer in occurrence.responses.items()}
    mentor = responses.get(pair.mentor.email) == Response.DECLINED
    mentee = responses.get(pair.mentee.email) == Response.DECLINED
    if mentor and mentee:
        return MissReason.DECLINED_BOTH
    if mentor:
        return MissReason.DECLINED_MENTOR
    if mentee:
        return MissReason.DECLINED_MENTEE
    return None


def _no_show(
    occurrence: Occurrence, pair: Pair, thresholds: Thresholds
) -> tuple[MissReason | None, bool]:
    """(no-show reason or None, confirmed) from measured attendance, if there is any."""
    measured = occurrence.attended_seconds
    if measured is None:
        return None, False
    seconds = {email.lower(): value for email, value in measured.items()}
    slot = max((occurrence.end - occurrence.start).total_seconds(), 1.0)
    needed = slot * thresholds.confirmed_share
    mentor_ok = seconds.get(pair.mentor.email, 0) >= needed
    mentee_ok = seconds.get(pair.mentee.email, 0) >= needed
    if mentor_ok and mentee_ok:
        return None, True
    if not mentor_ok and not mentee_ok:
        return MissReason.NO_SHOW_BOTH, False
    return (MissReason.NO_SHOW_MENTOR if not mentor_ok else MissReason.NO_SHOW_MENTEE), False


def classify(
    occurrence: Occurrence,
    pair: Pair,
    now: datetime,
    thresholds: Thresholds,
    *,
    number: int = 1,
    total: int = 1,
) -> Session:
    """Judge one occurrence at ``now`` (see the module docstring for the rules)."""
    known = MissReason.CANCELLED if occurrence.cancelled else _declined(occurrence, pair)
    judged = partial(Session, occurrence=occurrence, number=number, total=total)
    # Judged at its actual end: a moved session is not missed before its new time.
    if occurrence.end > now:
        return judged(outcome=Outcome.UPCOMING, reason=known)
    if known is not None:
        return judged(outcome=Outcome.MISSED, reason=known)
    no_show, confirmed = _no_show(occurrence, pair, thresholds)
    if no_show is not None:
        return judged(outcome=Outcome.MISSED, reason=no_show)
    return judged(outcome=Outcome.HELD, confirmed=confirmed)


def classify_series(
    occurrences: Sequence[Occurrence], pair: Pair, now: datetime, thresholds: Thresholds
) -> tuple[Session, ...]:
    """Every occurrence of one series, numbered by original slot and judged at ``now``."""
    ordered = sorted(occurrences, key=lambda o: o.original_start)
    total = len(ordered)
    return tuple(
        classify(o, pair, now, thresholds, number=i, total=total)
        for i, o in enumerate(ordered, start=1)
    )
