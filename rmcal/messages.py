"""The four session-loop e-mails: agenda, feedback, nudge and the leads' digest.

Why a module of its own: deciding *that* a message is due (``tick``) and deciding *what it says*
(here) change for different reasons. This module builds each message's template context from a
pair's reading, renders ``<name>.subject.j2`` / ``<name>.txt.j2`` / ``<name>.html.j2`` through
the sandboxed engine (a programme may override any of them) and hands the result to
``mail.compose``. Nothing here reads the clock, the calendar or the state file.

Who gets what:

* agenda: to the mentee (who owns the agenda), the mentor in copy, replies to the mentor (the
  text asks the mentee to send the mentor their questions);
* feedback and nudge: to both;
* digest: to one lead (or to ``--to`` for a preview).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from rmcal.attendance import Session
from rmcal.digest import Digest, build_digest
from rmcal.feedback import FeedbackRow
from rmcal.health import assess
from rmcal.invite import CLOCKS_NOTE, zone_label
from rmcal.mail import Rendered, address, compose, one_line
from rmcal.model import Config, Lead, Pair, Person, Settings, series_key
from rmcal.provider import Occurrence, Response, Series
from rmcal.readings import PairReading
from rmcal.templating import TemplateEngine

KINDS = ("agenda", "feedback", "nudge", "digest")


def utc_key_time(moment: datetime) -> str:
    """``2027-01-13T14:00:00Z``: the occurrence part of a mail key (original start, UTC)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def session_key(kind: str, series_key: str, session: Session) -> str:
    return f"{kind}:{series_key}:{utc_key_time(session.original_start)}"


def form_link(template: str | None, cohort_id: str, pair_id: str, number: int) -> str | None:
    """The programme's form URL with ``{pair}``, ``{session}`` and ``{cohort}`` filled in."""
    if not template:
        return None
    return (
        template.replace("{pair}", quote(pair_id, safe=""))
        .replace("{session}", str(number))
        .replace("{cohort}", quote(cohort_id, safe=""))
    )


def _person(person: Person) -> dict[str, str]:
    name = one_line(person.name)
    return {
        "name": name,
        "first_name": name.split(" ")[0] if name else person.email,
        "email": person.email,
        "timezone": person.timezone,
    }


def _session(session: Session) -> dict[str, Any]:
    return {
        "number": session.number,
        "total": session.total,
        "start": session.start,
        "end": session.end,
        "original_start": session.original_start,
        "duration": session.end - session.start,
        "moved": session.occurrence.moved,
        "held": session.held,
        "reason": str(session.reason) if session.reason else None,
    }


def clock_note(session: Session, sessions: Sequence[Session], zone: str) -> str | None:
    """Why this session is not at someone's usual local time, when the clocks are the reason.

    A series keeps one zone's wall-clock time; for someone in a zone whose clocks change on
    another date, a few sessions sit an hour off. The agenda says so for that session
    (``1 hour later than your usual 14:00 GMT: ...``); a moved session has its own note.
    """
    if session.occurrence.moved:
        return None
    tz = ZoneInfo(zone)
    times = Counter(f"{s.original_start.astimezone(tz):%H:%M}" for s in sessions)
    usual, _ = times.most_common(1)[0]
    here = session.original_start.astimezone(tz)
    if f"{here:%H:%M}" == usual:
        return None
    hours, minutes = (int(part) for part in usual.split(":"))
    shift = (here.hour * 60 + here.minute - hours * 60 - minutes + 720) % 1440 - 720
    size = f"{abs(shift) // 60} hour" + ("s" if abs(shift) >= 120 else "")
    if abs(shift) % 60:
        size = f"{abs(shift)} minutes"
    usual_label = next(
        zone_label(s.original_start.astimezone(tz))
        for s in sessions
        if f"{s.original_start.astimezone(tz):%H:%M}" == usual
    )
    direction = "later" if shift > 0 else "earlier"
    return f"{size} {direction} than the usual {usual} {usual_label}: {CLOCKS_NOTE}"


class MessageBuilder:
    """Builds ``EmailMessage`` objects for one programme (its organizer, templates, settings)."""

    def __init__(self, config: Config, engine: TemplateEngine | None = None) -> None:
        self.config = config
        self.engine = engine or TemplateEngine(config.templates_dir)
        organizer = config.programme.organizer
        self.sender = address(organizer.name, organizer.email)

    # -- shared ------------------------------------------------------------------------------

    def _render(self, name: str, context: dict[str, Any]) -> Rendered:
        subject = self.engine.render_one(f"{name}.subject.j2", context)
        html, text = self.engine.render(name, context)
        return Rendered(one_line(subject), text, html)

    def _base(self, reading: PairReading) -> dict[str, Any]:
        programme = self.config.programme
        pair = reading.pair
        return {
            "programme": {"name": programme.name, "purpose": programme.purpose},
            "organizer": {"name": programme.organizer.name, "email": programme.organizer.email},
            "pair": {
                "id": pair.id,
                "cohort": pair.cohort_id,
                "focus": pair.focus,
                "cadence": pair.settings.cadence.text,
            },
            "mentor": _person(pair.mentor),
            "mentee": _person(pair.mentee),
            "video_url": reading.series.video_url if reading.series else None,
        }

    def _people(self, reading: PairReading) -> tuple[Address, Address]:
        pair = reading.pair
        return (
            address(pair.mentor.name, pair.mentor.email),
            address(pair.mentee.name, pair.mentee.email),
        )

    # -- the four messages ------------------------------------------------------------------

    def agenda(
        self, reading: PairReading, session: Session, key: str, now: datetime
    ) -> EmailMessage:
        """Before a session: times in both zones, focus, agenda prompts, last session's recap."""
        context = self._base(reading)
        earlier = [s for s in reading.health.sessions if s.number < session.number]
        previous = earlier[-1] if earlier else None
        last_held = next((s for s in reversed(earlier) if s.held), None)
        pair = reading.pair
        context.update(
            session=_session(session),
            previous=_session(previous) if previous else None,
            last_held=_session(last_held) if last_held else None,
            clock_notes={
                "mentee": clock_note(session, reading.health.sessions, pair.mentee.timezone),
                "mentor": clock_note(session, reading.health.sessions, pair.mentor.timezone),
            },
        )
        mentor, mentee = self._people(reading)
        # The agenda asks the mentee to reply to the mentor: a reply goes to the mentor.
        return compose(
            key=key,
            sender=self.sender,
            to=[mentee],
            cc=[mentor],
            reply_to=mentor,
            rendered=self._render("agenda", context),
            date=now,
        )

    def feedback(
        self, reading: PairReading, session: Session, key: str, now: datetime
    ) -> EmailMessage:
        """After a held session: four questions and the form link with pair and session."""
        context = self._base(reading)
        pair = reading.pair
        context.update(
            session=_session(session),
            form_url=form_link(
                pair.settings.feedback_form_url, pair.cohort_id, pair.id, session.number
            ),
        )
        mentor, mentee = self._people(reading)
        return compose(
            key=key,
            sender=self.sender,
            to=[mentor, mentee],
            rendered=self._render("feedback", context),
            date=now,
        )

    def nudge(self, reading: PairReading, key: str, now: datetime) -> EmailMessage:
        """Once when a pair turns at risk or off track: what became of each session of the
        missed periods (missed and why, or moved and where to), the next session, and
        move-don't-drop."""
        health = reading.health
        context = self._base(reading)
        decided = [p for p in health.periods if p.decided]
        run = decided[-health.missed_run :] if health.missed_run else []
        misses = [
            {
                "number": miss.session.number,
                "start": miss.session.original_start,
                "moved_to": miss.moved_to,
                "reason": miss.outcome,
            }
            for period in run
            for miss in period.misses
        ]
        context.update(
            state=str(health.state),
            why=health.why,
            misses=misses,
            missed_run=health.missed_run,
            run_label=run[0].label(health.unit) if run else None,
            unit={"one": health.unit.one, "many": health.unit.many},
            held=health.sessions_held,
            held_periods=health.periods_held,
            due_periods=health.periods_due,
            next_session=_session(health.next_session) if health.next_session else None,
        )
        mentor, mentee = self._people(reading)
        return compose(
            key=key,
            sender=self.sender,
            to=[mentor, mentee],
            rendered=self._render("nudge", context),
            date=now,
        )

    def digest_context(self, digest: Digest) -> dict[str, Any]:
        programme = self.config.programme
        context = digest.context()
        context["programme"] = {"name": programme.name, "purpose": programme.purpose}
        context["organizer"] = {
            "name": programme.organizer.name,
            "email": programme.organizer.email,
        }
        return context

    def digest_html(self, digest: Digest) -> str:
        """Just the HTML part, for ``rmcal digest --preview``."""
        return self.engine.render_one("digest.html.j2", self.digest_context(digest))

    def digest(
        self, digest: Digest, key: str, now: datetime, to: str | None = None
    ) -> EmailMessage:
        """The weekly digest to its lead (or to ``to``, for a preview)."""
        lead = digest.lead
        recipient = address(lead.name, lead.email) if to is None else address("", to)
        return compose(
            key=key,
            sender=self.sender,
            to=[recipient],
            rendered=self._render("digest", self.digest_context(digest)),
            date=now,
        )


# -- sample data for ``rmcal validate`` -------------------------------------------------------

SAMPLE_NOW_OFFSET = timedelta(days=16)
SAMPLE_DEPUTY = "deputy@example.com"


def sample_reading(
    config: Config, offset: timedelta = SAMPLE_NOW_OFFSET
) -> tuple[PairReading, datetime]:
    """A plausible pair's life for rendering every branch of every template: session 1 held
    by a delegate, 2 cancelled, 3 declined, 4 moved within its week, 5 moved into the next
    week, 6 as planned; ``now`` is ``offset`` after the first session (by default just after
    session 3)."""
    pair = config.pairs[0] if config.pairs else _SAMPLE_PAIR
    zone = ZoneInfo(pair.mentee.timezone)
    first = datetime(2030, 1, 7, 10, 0, tzinfo=zone)
    duration = pair.settings.duration
    key = series_key(pair.cohort_id, pair.id)
    series = Series(
        key=key,
        provider_id="sample",
        title="sample",
        start=first,
        duration=duration,
        timezone=pair.mentee.timezone,
        rrule="FREQ=WEEKLY;BYDAY=MO;COUNT=6",
        attendees=(pair.mentor.email, pair.mentee.email),
        tags={"key": key, "cohort": pair.cohort_id, "pair": pair.id},
        video_url="https://meet.example/sample",
    )
    moves = {3: timedelta(days=1), 4: timedelta(days=8)}
    answers = {
        0: {
            pair.mentor.email: Response.ACCEPTED,
            pair.mentee.email: Response.DELEGATED,
            SAMPLE_DEPUTY: Response.ACCEPTED,
        },
        2: {pair.mentee.email: Response.DECLINED},
    }
    occurrences = []
    for index in range(6):
        start = first + timedelta(weeks=index)
        moved = start + moves.get(index, timedelta(0))
        occurrences.append(
            Occurrence(
                series_key=key,
                original_start=start.astimezone(UTC),
                start=moved.astimezone(UTC),
                end=(moved + duration).astimezone(UTC),
                cancelled=index == 1,
                responses=answers.get(index, {}),
            )
        )
    now = first + offset
    health = assess(pair, series, occurrences, now)
    return PairReading(pair=pair, series=series, health=health), now


_SAMPLE_PAIR = Pair(
    "sample-cohort",
    Person("mentor@example.com", "Sam Mentor", "Europe/London"),
    Person("mentee@example.com", "Alex Mentee", "America/New_York"),
    Settings(feedback_form_url="https://forms.example/f?pair={pair}&session={session}"),
    focus="Sample focus",
)


def render_sample(name: str, config: Config, engine: TemplateEngine) -> None:
    """Render template ``name`` with sample data in every branch (``rmcal validate``).

    Raises ``ConfigError`` naming the template when one does not render. Templates rmcal does
    not send (a programme's own extras) are left alone.
    """
    if name not in KINDS:
        return
    builder = MessageBuilder(config, engine)
    reading, now = sample_reading(config)
    sessions = reading.health.sessions
    if name == "agenda":
        for session in (sessions[0], sessions[1], sessions[3]):
            builder.agenda(reading, session, session_key(name, "sample", session), now)
    elif name == "feedback":
        builder.feedback(reading, sessions[0], session_key(name, "sample", sessions[0]), now)
        bare = replace(reading, pair=replace(reading.pair, settings=Settings()))
        builder.feedback(bare, sessions[0], session_key(name, "sample", sessions[0]), now)
    elif name == "nudge":
        builder.nudge(reading, "nudge:sample", now)
        last = replace(reading, health=replace(reading.health, next_session=None, missed_run=1))
        builder.nudge(last, "nudge:sample:last", now)
        # Week 5 over, its session moved into week 6: a miss that names the new date.
        moved, later = sample_reading(config, timedelta(weeks=5, minutes=30))
        builder.nudge(moved, "nudge:sample:moved", later)
    elif name == "digest":
        lead = Lead("lead@example.com", "Sample Lead", reading.pair.mentee.timezone, all_pairs=True)
        feedback = [
            FeedbackRow(
                pair_id=reading.pair.id,
                session=1,
                respondent=reading.pair.mentee.email,
                rating=5,
                recommend=True,
                working="a",
                awkward="b",
                learned="c",
                source="s",
            )
        ]
        digest = build_digest(lead, [reading], now, feedback=feedback)
        builder.digest(digest, "digest:sample", now)
        # Every session decided: how the pair finished, and a held session with a caveat.
        done, end = sample_reading(config, timedelta(weeks=6))
        builder.digest(build_digest(lead, [done], end), "digest:sample:finished", end)
        builder.digest(build_digest(lead, [], now), "digest:sample:empty", now)
