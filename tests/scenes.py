"""People's calendar edits for tests that play the demo's scenes on the local provider's files.

The edits themselves belong to the provider (``rmcal.provider.EditableCalendar``); these helpers
only find a pair's series file and open the provider over the folder that holds it, so that a
test can say "Tom declines session 1 of this file".
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from rmcal_providers.local import LocalProvider

from rmcal.model import Config, Pair
from rmcal.provider import Attendee, Cancellation, EditableCalendar, ProviderContext


def series_file(config: Config, pair: Pair) -> Path:
    """The .ics file of a pair's series in the local provider's folder."""
    folder = Path(str(config.provider.settings["folder"])) / "calendars"
    for path in sorted(folder.glob("*.ics")):
        if pair.id in path.read_text("utf-8", errors="replace"):
            return path
    raise FileNotFoundError(f"no series file for pair {pair.id} in {folder}")


def _calendar(path: Path) -> EditableCalendar:
    """The local provider over ``<folder>`` for a file ``<folder>/calendars/<key>.ics``."""
    folder = path.parent.parent
    context = ProviderContext(
        config_dir=folder,
        state_dir=folder,
        organizer=Attendee("organizer@scenes.invalid", "Scenes"),
        programme="scenes",
        timezone="UTC",
    )
    provider = LocalProvider({"folder": str(folder)}, context)
    assert isinstance(provider, EditableCalendar)
    return provider


def decline_session(path: Path, number: int, email: str) -> datetime:
    """``email`` declines session ``number`` of the series in ``path``."""
    return _calendar(path).decline_session(path.stem, number, email)


def cancel_session(path: Path, number: int, how: Cancellation = "exdate") -> datetime:
    """The organizer cancels session ``number`` (an EXDATE, or STATUS:CANCELLED)."""
    return _calendar(path).cancel_session(path.stem, number, how=how)


def move_session(path: Path, number: int, by: timedelta) -> tuple[datetime, datetime]:
    """Someone drags session ``number`` by ``by``."""
    return _calendar(path).move_session(path.stem, number, by)
