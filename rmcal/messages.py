"""The session-loop e-mails: agenda, feedback, nudge, heads-up and the leads' digest.

Why a module of its own: deciding *that* a message is due (``tick``) and deciding *what it says*
(here) change for different reasons. This module builds each message's template context from a
pair's reading, renders ``<name>.subject.j2`` / ``<name>.txt.j2`` / ``<name>.html.j2`` through
the sandboxed engine (a programme may override any of them) and hands the result to
``mail.compose``. Nothing here reads the clock, the calendar or the state file.

Who gets what:

* agenda: to the mentee (who owns the agenda), the mentor in copy;
* feedback, nudge and heads-up (a session someone booked over): to both;
* digest: to one lead (or to ``--to`` for a preview).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from rmcal.attendance import Session
from rmcal.clashes import SessionClash
from rmcal.digest import Digest, build_digest
from rmcal.feedback import FeedbackRow
from rmcal.health import assess
from rmcal.mail import Rendered, address, compose, one_line
from rmcal.model import Config, Lead, Pair, Person, Settings, series_key
from rmcal.provider import Occurrence, Response, Series
from rmcal.readings import PairReading
from rmcal.templating import TemplateEngine

KINDS = ("agenda", "feedback", "nudge", "headsup", "digest")


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


def localdate(moment: datetime, zone: str, fmt: str = "%a %d %b") -> str:
    """A day as the recipient reads it (``Mon 25 Jan``): no clock time, so no zone label."""
    return moment.astimezone(ZoneInfo(zone)).strftime(fmt)


class MessageBuilder:
    """Builds ``EmailMessage`` objects for one programme (its organizer, templates, settings).

    Adds the ``localdate`` filter to the engine (the session-loop templates use it next to the
    engine's own ``localtime`` and ``duration``).
    """

    def __init__(self, config: Config, engine: TemplateEngine | None = None) -> None:
        self.config = config
        self.engine = engine or TemplateEngine(config.templates_dir)
        self.engine.env.filters.setdefault("localdate", localdate)
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
        context.update(
            session=_session(session),
            previous=_session(previous) if previous else None,
            last_held=_session(last_held) if last_held else None,
        )
        mentor, mentee = self._people(reading)
        return compose(
            key=key,
            sender=self.sender,
            to=[mentee],
            cc=[mentor],
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
        """Once when a pair turns at risk or off track: the next session, and move-don't-drop."""
        health = reading.health
        context = self._base(reading)
        run = (
            [p for p in health.periods if p.decided][-health.missed_run :]
            if health.missed_run
            else []
        )
        misses = [
            {"start": s.original_start, "number": s.number, "reason": str(s.reason)}
            for period in run
            for s in period.sessions
            if s.missed
        ] or [{"start": p.start, "number": None, "reason": p.reason} for p in run[-1:]]
        context.update(
            state=str(health.state),
            why=health.why,
            misses=misses,
            missed_run=health.missed_run,
            held=health.held,
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

    def headsup(self, clash: SessionClash, key: str, now: datetime) -> EmailMessage:
        """A session someone booked over: whose commitment, and three free times that week."""
        reading = clash.reading
        context = self._base(reading)
        role = "mentor" if clash.person.email == reading.pair.mentor.email else "mentee"
        context.update(
            session=_session(clash.session),
            busy={**_person(clash.person), "role": role},
            free=list(clash.free),
        )
        mentor, mentee = self._people(reading)
        return compose(
            key=key,
            sender=self.sender,
            to=[mentor, mentee],
            rendered=self._render("headsup", context),
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


def sample_reading(config: Config) -> tuple[PairReading, datetime]:
    """A plausible pair's life for rendering every branch of every template: session 1 held,
    2 cancelled, 3 declined, 4 moved, 5-6 upcoming; ``now`` just after session 3."""
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
    occurrences = []
    for index in range(6):
        start = first + timedelta(weeks=index)
        moved = start + timedelta(days=1) if index == 3 else start
        occurrences.append(
            Occurrence(
                series_key=key,
                original_start=start.astimezone(UTC),
                start=moved.astimezone(UTC),
                end=(moved + duration).astimezone(UTC),
                cancelled=index == 1,
                responses={pair.mentee.email: Response.DECLINED} if index == 2 else {},
            )
        )
    now = first + SAMPLE_NOW_OFFSET
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
    elif name == "headsup":
        session = sessions[4]
        free = (session.start + timedelta(days=1), session.start + timedelta(days=2))
        for offered in (free, ()):
            clash = SessionClash(reading, session, reading.pair.mentee, offered)
            builder.headsup(clash, "headsup:sample", now)
    elif name == "nudge":
        builder.nudge(reading, "nudge:sample", now)
        last = replace(reading, health=replace(reading.health, next_session=None, missed_run=1))
        builder.nudge(last, "nudge:sample:last", now)
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
        clash = SessionClash(reading, sessions[4], reading.pair.mentor, (sessions[4].start,))
        digest = build_digest(lead, [reading], now, feedback=feedback, clashes=[clash])
        builder.digest(digest, "digest:sample", now)
        builder.digest(build_digest(lead, [], now), "digest:sample:empty", now)
