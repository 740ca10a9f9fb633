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

Two things do not change the outcome but are counted and shown, because a lead reads them
differently from a plain "held":

* **outside hours**: the session's actual time falls outside the hours of the mentor, the
  mentee or both, each read in their own zone (a session dragged to 20:00 London);
* **held by delegate**: someone else took a configured person's place. That is an explicit
  delegation (RFC 5545 ``PARTSTAT=DELEGATED``, the delegate listed beside), or, where the
  platform has no such answer (Graph, Google), a configured person left off an occurrence
  that lists their partner and another attendee. A delegation with nobody in the person's
  place (the delegate declined too) counts as that person's decline. A plain decline stays a
  decline, whoever else is invited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import partial

from rmcal.model import Pair, Person, Thresholds
from rmcal.provider import Occurrence, Response
from rmcal.slots import fits_window

ROLES = ("mentor", "mentee")


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


_DECLINED = {
    ("mentor",): MissReason.DECLINED_MENTOR,
    ("mentee",): MissReason.DECLINED_MENTEE,
    ROLES: MissReason.DECLINED_BOTH,
}


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
    declined_by: tuple[str, ...] = ()  # "mentor" and/or "mentee", in that order
    delegate: str | None = None  # the e-mail of whoever stood in for a configured person
    stood_in_for: tuple[str, ...] = ()  # the roles the delegate took
    outside_hours: tuple[Person, ...] = ()  # whose hours the actual time falls outside

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
    def moved(self) -> bool:
        return self.occurrence.moved

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

    @property
    def caveats(self) -> tuple[str, ...]:
        """What a lead should know about a session that goes (or went) ahead: ``by delegate
        (deputy@x.org for the mentee)``, ``at 20:00 London, outside Ana Silva's hours``."""
        if self.reason is not None:
            return ()
        found = []
        if self.delegate is not None:
            roles = " and ".join(self.stood_in_for)
            found.append(f"by delegate ({self.delegate} for the {roles})")
        if self.outside_hours:
            found.append(outside_text(self.start, self.outside_hours))
        return tuple(found)

    @property
    def note(self) -> str | None:
        """``held at 20:00 London, outside Ana Silva's hours``; None without a caveat."""
        if not self.caveats or self.missed:
            return None
        return ("held " if self.held else "to be held ") + ", ".join(self.caveats)


def place(zone: str) -> str:
    """A zone as people name it: ``Europe/London`` is London, ``America/New_York`` New York;
    a zone without a city (``UTC``) stays as it is."""
    return zone.rsplit("/", 1)[-1].replace("_", " ")


def outside_text(start: datetime, people: Sequence[Person]) -> str:
    """``at 20:00 London, outside Ana Silva's hours`` (each person's local time)."""
    local = [f"{start.astimezone(p.zone):%H:%M} {place(p.timezone)}" for p in people]
    times = " / ".join(dict.fromkeys(local))  # two people in one zone: said once
    whose = "both people's" if len(people) > 1 else f"{people[0].name}'s"
    return f"at {times}, outside {whose} hours"


@dataclass(frozen=True)
class _Presence:
    """Who of the pair takes part in one occurrence, from the answers the calendar holds."""

    declined_by: tuple[str, ...] = ()
    delegate: str | None = None
    stood_in_for: tuple[str, ...] = ()

    @property
    def reason(self) -> MissReason | None:
        return _DECLINED.get(self.declined_by)


def _presence(occurrence: Occurrence, pair: Pair) -> _Presence:
    """Declines and stand-ins for one occurrence (module docstring: "held by delegate")."""
    answers = {email.lower(): answer for email, answer in occurrence.responses.items()}
    configured = dict(zip((pair.mentor.email, pair.mentee.email), ROLES, strict=True))
    away = {Response.DECLINED, Response.DELEGATED, Response.ORGANIZER}
    others = sorted(e for e, a in answers.items() if e not in configured and a not in away)
    declined: list[str] = []
    replaced: list[str] = []
    for email, role in configured.items():
        answer = answers.get(email)
        partner = answers.get(next(e for e in configured if e != email))
        # Left off an occurrence that lists the partner and someone else: replaced. (Without
        # the partner the list may just be partial, as hand-made data often is.)
        left_off = answer is None and others and partner not in (None, Response.DELEGATED)
        if answer == Response.DECLINED:
            declined.append(role)
        elif answer == Response.DELEGATED or left_off:
            (replaced if others else declined).append(role)
    if replaced:
        return _Presence(tuple(declined), others[0], tuple(replaced))
    return _Presence(tuple(declined))


def _outside_hours(occurrence: Occurrence, pair: Pair) -> tuple[Person, ...]:
    """The people whose hours (each in their own zone) the occurrence's actual time leaves."""
    if occurrence.cancelled:
        return ()
    duration = occurrence.end - occurrence.start
    return tuple(
        person
        for person in pair.people
        if not fits_window(person.zone, pair.window_of(person), occurrence.start, duration)
    )


def _no_show(
    occurrence: Occurrence, pair: Pair, thresholds: Thresholds, presence: _Presence
) -> tuple[MissReason | None, bool]:
    """(no-show reason or None, confirmed) from measured attendance, if there is any.

    A delegate's time counts for the person they stood in for.
    """
    measured = occurrence.attended_seconds
    if measured is None:
        return None, False
    seconds = {email.lower(): value for email, value in measured.items()}
    slot = max((occurrence.end - occurrence.start).total_seconds(), 1.0)
    needed = slot * thresholds.confirmed_share

    def joined(role: str, email: str) -> bool:
        if role in presence.stood_in_for and presence.delegate is not None:
            email = presence.delegate
        return seconds.get(email, 0) >= needed

    mentor_ok = joined("mentor", pair.mentor.email)
    mentee_ok = joined("mentee", pair.mentee.email)
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
    presence = _presence(occurrence, pair)
    known = MissReason.CANCELLED if occurrence.cancelled else presence.reason
    judged = partial(
        Session,
        occurrence=occurrence,
        number=number,
        total=total,
        declined_by=presence.declined_by,
        delegate=presence.delegate,
        stood_in_for=presence.stood_in_for,
        outside_hours=_outside_hours(occurrence, pair),
    )
    # Judged at its actual end: a moved session is not missed before its new time.
    if occurrence.end > now:
        return judged(outcome=Outcome.UPCOMING, reason=known)
    if known is not None:
        return judged(outcome=Outcome.MISSED, reason=known)
    no_show, confirmed = _no_show(occurrence, pair, thresholds, presence)
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
