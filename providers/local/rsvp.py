"""An attendee's answer written into a series file, the way an organizer's calendar records it.

Why a module of its own: the rules that decide whether an answer counts are the whole of
reading replies, and they must hold whatever mailbox the answer came from:

* only an attendee of that series counts, and only from the attendee's own address (RFC 6047
  section 3: the organizer checks the sender; a stranger's reply changes nothing);
* an answer without RECURRENCE-ID is for the whole series (the master, and every override that
  lists the attendee); with one, for that session only (its override, created as a copy of the
  master the way calendar apps write one when there is none yet);
* an older answer never replaces a newer one (RFC 5546 section 2.1.5: the higher SEQUENCE, then
  the later DTSTAMP). The answer recorded is kept in the file itself, as ATTENDEE parameters
  ``X-RMCAL-SEQUENCE`` and ``X-RMCAL-DTSTAMP`` (as Apple's calendar server keeps
  ``X-CALENDARSERVER-DTSTAMP``), so that the calendar, not the state file, knows;
* an answer to an earlier revision of the invitation whose time has changed since is stale: it
  said yes or no to another time.

Recording an answer does not bump SEQUENCE (the invitation did not change). Pure: a freshly
parsed ``SeriesFile`` is changed in place; the inbox (``replies``) reads and writes the file.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime

from icalendar import Event, vCalAddress

from rmcal.provider import Response

from . import ics
from .edits import occurrence_override
from .ics.series import PARTSTAT_RESPONSES, responses
from .ics.values import UTC, email_of, param_of, prop_time, prop_values, sequence_of, zone_name
from .replymail import Answer

SEQUENCE_PARAM = "X-RMCAL-SEQUENCE"
DTSTAMP_PARAM = "X-RMCAL-DTSTAMP"
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
APPLIED = ("ACCEPTED", "TENTATIVE", "DECLINED")
_VERBS = {
    Response.ACCEPTED: "accepted",
    Response.TENTATIVE: "tentatively accepted",
    Response.DECLINED: "declined",
}
_BEFORE = {Response.NONE: "no answer", Response.TENTATIVE: "tentative"}

Order = tuple[int, datetime]


@dataclass(frozen=True)
class Verdict:
    """What one answer did to a series file, in words for the operator."""

    applied: bool
    detail: str
    occurrence: datetime | None = None  # the session's original start; None: the whole series
    duplicate: bool = False  # exactly this answer is already recorded: nothing to report


def when(moment: datetime) -> str:
    """A session's time as the tick report names it: ``Wed 02 Apr 2025 14:00 (Europe/London)``."""
    return f"{moment:%a %d %b %Y %H:%M} ({zone_name(moment.tzinfo or UTC)})"


def _attendee(event: Event, email: str) -> vCalAddress | None:
    for prop in prop_values(event, "ATTENDEE"):
        if isinstance(prop, vCalAddress) and email_of(prop) == email:
            return prop
    return None


def recorded(event: Event, email: str) -> Order | None:
    """The (SEQUENCE, DTSTAMP) of the answer recorded for ``email`` in ``event``, if any."""
    prop = _attendee(event, email)
    if prop is None:
        return None
    try:
        sequence = int(param_of(prop, SEQUENCE_PARAM))
        stamp = datetime.strptime(param_of(prop, DTSTAMP_PARAM), STAMP_FORMAT)
    except ValueError:  # none recorded (written by rmcal or by hand), or damaged
        return None
    return sequence, stamp.replace(tzinfo=UTC)


def _record(event: Event, master: Event, email: str, answer: Answer) -> None:
    prop = _attendee(event, email)
    if prop is None:  # a hand-written override that leaves the attendee out: add them back
        source = _attendee(master, email)
        prop = copy.deepcopy(source) if source is not None else vCalAddress(f"mailto:{email}")
        event.add("ATTENDEE", prop)
    prop.params["PARTSTAT"] = answer.partstat
    prop.params[SEQUENCE_PARAM] = str(answer.sequence)
    prop.params[DTSTAMP_PARAM] = answer.stamp.astimezone(UTC).strftime(STAMP_FORMAT)


def _words(response: Response) -> str:
    return _BEFORE.get(response, str(response))


def apply_answer(series: ics.SeriesFile, answer: Answer, senders: frozenset[str]) -> Verdict:
    """Record ``answer`` in ``series`` (changed in place) when it counts; say what happened."""
    who = answer.attendee
    invited = series.attendees()
    if who not in invited:
        people = ", ".join(invited) or "none"
        return Verdict(False, f"{who} is not invited to this series ({people}); nothing changed")
    if not (answer.aliases | {who}) & senders:
        sent_by = ", ".join(sorted(senders)) or "an unknown sender"
        return Verdict(
            False,
            f"the answer for {who} was sent by {sent_by}; only the attendee's own address "
            "counts, nothing changed",
        )
    if answer.partstat not in APPLIED:
        return Verdict(
            False, f"{who} answered {answer.partstat}; rmcal applies ACCEPTED, TENTATIVE, DECLINED"
        )
    event, master = series.event, series.master
    original: datetime | None = None
    target: Event | None = master
    current = (series.sequence, event.first)
    if answer.recurrence_id is not None:
        rid = answer.recurrence_id
        if param_of(rid, "RANGE").upper() == "THISANDFUTURE":
            return Verdict(
                False,
                f"{who} answered this and all later sessions at once (RANGE=THISANDFUTURE), "
                "which rmcal does not apply; nothing changed",
            )
        original = prop_time(rid, event.zone, "RECURRENCE-ID").astimezone(event.zone)
        if not event.is_original(original):
            return Verdict(
                False,
                f"{who} answered for {when(original)}, when no session of this series starts; "
                "nothing changed",
            )
        inst = event.instance(original)
        if inst.cancelled:
            return Verdict(
                False,
                f"{who} answered for the session of {when(original)}, which is cancelled; "
                "nothing changed",
                original,
            )
        target = event.override_for(original)
        revision = series.sequence if target is None else sequence_of(target, series.sequence)
        current = (revision, inst.start)
    scope = "every session" if original is None else f"the session of {when(original)}"
    sequence, start = current
    if answer.sequence < sequence:
        said = None if answer.start is None else prop_time(answer.start, event.zone, "DTSTART")
        if said is None or said.astimezone(UTC) != start.astimezone(UTC):
            return Verdict(
                False,
                f"{who} answered an earlier invitation (SEQUENCE {answer.sequence}, now "
                f"{sequence}) for {scope}, whose time has changed since; nothing changed",
                original,
            )
    mark = (recorded(target, who) if target is not None else None) or recorded(master, who)
    if mark is not None and answer.order == mark:
        return Verdict(False, "already recorded", original, duplicate=True)
    if mark is not None and answer.order < mark:
        return Verdict(
            False,
            f"{who}'s answer for {scope} (SEQUENCE {answer.sequence}, DTSTAMP "
            f"{answer.stamp:{STAMP_FORMAT}}) is older than the one recorded "
            f"(SEQUENCE {mark[0]}, DTSTAMP {mark[1]:{STAMP_FORMAT}}); nothing changed",
            original,
        )
    if original is None:
        before = responses(master, series.organizer).get(who, Response.NONE)
    else:
        before = series.answers(event.instance(original)).get(who, Response.NONE)
    if target is None:
        assert original is not None  # only a session can lack its own event
        target = occurrence_override(series.calendar, original)
    _record(target, master, who, answer)
    if original is None:
        for override in [*event.overrides.values(), *event.override_days.values()]:
            mark = recorded(override, who)
            if _attendee(override, who) is not None and (mark is None or mark < answer.order):
                _record(override, master, who, answer)
    response = PARTSTAT_RESPONSES[answer.partstat]
    title = ics.text_of(master, "SUMMARY")
    return Verdict(
        True,
        f"{who} {_VERBS[response]} {scope} of {title!r} (before: {_words(before)})",
        original,
    )
