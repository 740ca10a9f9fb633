"""The text of a pair's calendar invitation (title and description), from templates.

Kept apart from planning so that the planner stays a pure function of data: it receives a
``render`` callable and never touches Jinja or the file system.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from rmcal.model import Config, Pair
from rmcal.provider import Series
from rmcal.recurrence import expand
from rmcal.slots import Slot
from rmcal.templating import TemplateEngine


@dataclass(frozen=True)
class InviteText:
    """What a pair's calendar invitation says: its title and its HTML and plain descriptions."""

    title: str
    html: str
    text: str


_MINUTE = timedelta(minutes=1)

# What the planner is given to word an invitation; ``InviteRenderer.render`` is the real one.
Render = Callable[[Pair, Slot], InviteText]


def zone_label(local: datetime) -> str:
    """``GMT``, ``IST``; zones without a letter abbreviation read ``UTC+08`` rather than ``+08``."""
    name = local.tzname() or ""
    return name if any(c.isalpha() for c in name) else f"UTC{name}"


CLOCKS_NOTE = "the clocks change on different dates in the two time zones"


def _dates(days: Sequence[datetime], weekday: str) -> str:
    """``15 Mar, 22 Mar`` (``Tue 16 Mar`` when the weekday is not the usual one); a long run of
    sessions reads as its first and last date."""
    shown = [f"{d:%a %d %b}" if f"{d:%A}" != weekday else f"{d:%d %b}" for d in days]
    if len(shown) > 4:
        return f"{shown[0]} to {shown[-1]} ({len(shown)} sessions)"
    return " and ".join([", ".join(shown[:-1]), shown[-1]]) if len(shown) > 1 else shown[0]


def when_for(slot: Slot, zone: str) -> str:
    """When the sessions are for someone in ``zone`` (``sessions_when``)."""
    return sessions_when(slot.starts, zone)


@functools.lru_cache(maxsize=1024)
def sessions_when(starts: tuple[datetime, ...], zone: str) -> str:
    """When the sessions are for someone in ``zone``: the day and time of most of them, then
    the sessions that differ, e.g. ``Mondays at 09:00 GMT, from 01 Mar 2027; 10:00 GMT on
    15 Mar and 22 Mar (the clocks change on different dates in the two time zones)``.

    Why "most" and not the first: a series kept in one zone moves by an hour for someone in a
    zone whose clocks change on another date; described from the first session alone, a
    winter-to-summer series would announce the time of its minority of sessions.
    """
    tz = ZoneInfo(zone)
    local = [start.astimezone(tz) for start in starts]
    if not local:
        return ""
    groups: dict[tuple[str, str], list[datetime]] = {}  # first-seen order: ties go earlier
    for day in local:
        groups.setdefault((f"{day:%A}", f"{day:%H:%M}"), []).append(day)
    (weekday, usual), _ = max(groups.items(), key=lambda item: len(item[1]))
    text = f"{weekday}s at {usual} {_labels(groups[weekday, usual])}, from {local[0]:%d %b %Y}"
    others = [key for key in groups if key != (weekday, usual)]
    for key in others:
        days = groups[key]
        text += f"; {key[1]} {_labels(days)} on {_dates(days, weekday)}"
    if others:
        text += f" ({CLOCKS_NOTE})"
    return text


def _labels(days: Sequence[datetime]) -> str:
    """``GMT``, or ``EST/EDT`` when the same wall-clock time spans a change of the clocks."""
    return "/".join(dict.fromkeys(zone_label(day) for day in days))


class InviteRenderer:
    """Renders ``invite.title.j2``, ``invite.html.j2`` and ``invite.txt.j2`` for a pair."""

    def __init__(self, config: Config, engine: TemplateEngine, video: bool) -> None:
        self.config = config
        self.engine = engine
        self.video = video

    def context(self, pair: Pair, slot: Slot) -> dict[str, object]:
        programme = self.config.programme
        people = [
            {
                "name": p.name,
                "email": p.email,
                "timezone": p.timezone,
                "when": when_for(slot, p.timezone),
            }
            for p in (pair.mentor, pair.mentee)
        ]
        wants_video = self.video and pair.settings.video == "auto"
        return {
            "programme": {"name": programme.name, "purpose": programme.purpose},
            "mentor": {"name": pair.mentor.name, "email": pair.mentor.email},
            "mentee": {"name": pair.mentee.name, "email": pair.mentee.email},
            "people": people,
            "focus": pair.focus,
            "cadence": pair.settings.cadence.text,
            "duration": pair.settings.duration,
            "sessions": len(slot.starts),
            "pair_id": pair.id,
            "video_note": "A video link is attached to the invitation." if wants_video else "",
        }

    def render(self, pair: Pair, slot: Slot) -> InviteText:
        context = self.context(pair, slot)
        title = " ".join(self.engine.render_one("invite.title.j2", context).split())
        html, text = self.engine.render("invite", context)
        return InviteText(title=title, html=html, text=text)


class EndingRenderer:
    """Renders ``invite_end.html.j2`` and ``invite_end.txt.j2``: the description a series
    carries once it ends early or is cancelled.

    Why its own template: a series ends because its pair (or cohort) left the config, so the
    pair's names, zones and focus are no longer known; what is known is the series itself (its
    title, zone, first session) and where it now stops. The invitation's old text would go on
    promising every session it no longer has.
    """

    def __init__(self, config: Config, engine: TemplateEngine) -> None:
        self.config = config
        self.engine = engine

    def context(self, series: Series, last: datetime | None) -> dict[str, object]:
        programme = self.config.programme
        kept = (
            [s for s in expand(series.rrule, series.start, before=last + _MINUTE)] if last else []
        )
        return {
            "programme": {"name": programme.name, "purpose": programme.purpose},
            "organizer": {"name": programme.organizer.name, "email": programme.organizer.email},
            "title": series.title,
            "timezone": series.timezone,
            "first": series.start,
            "last": last,
            "sessions": len(kept),
            "cancelled": last is None,
        }

    def render(self, series: Series, last: datetime | None) -> InviteText:
        html, text = self.engine.render("invite_end", self.context(series, last))
        return InviteText(title=series.title, html=html, text=text)
