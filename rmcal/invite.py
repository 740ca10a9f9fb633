"""The text of a pair's calendar invitation (title and description), from templates.

Kept apart from planning so that the planner stays a pure function of data: it receives a
``render`` callable and never touches Jinja or the file system.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from rmcal.model import Config, Pair
from rmcal.slots import Slot
from rmcal.templating import TemplateEngine


@dataclass(frozen=True)
class InviteText:
    """What a pair's calendar invitation says: its title and its HTML and plain descriptions."""

    title: str
    html: str
    text: str


# What the planner is given to word an invitation; ``InviteRenderer.render`` is the real one.
Render = Callable[[Pair, Slot], InviteText]


def zone_label(local: datetime) -> str:
    """``GMT``, ``IST``; zones without a letter abbreviation read ``UTC+08`` rather than ``+08``."""
    name = local.tzname() or ""
    return name if any(c.isalpha() for c in name) else f"UTC{name}"


def when_for(slot: Slot, zone: str) -> str:
    """``Tuesdays at 14:30 IST, from 12 Jan 2027``, noting weeks a DST change shifts the hour."""
    tz = ZoneInfo(zone)
    first = slot.first.astimezone(tz)
    usual = first.strftime("%H:%M")
    others = sorted({s.astimezone(tz).strftime("%H:%M") for s in slot.starts} - {usual})
    text = f"{first:%A}s at {usual} {zone_label(first)}, from {first:%d %b %Y}"
    if others:
        text += f" (some weeks {', '.join(others)} while daylight-saving changes differ)"
    return text


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
