"""The programme's life the crash harness kills commands in: four phases, one command each."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import yaml

from tests.cohort20 import NOW

# Each tick is followed by hours with nothing else due, so that the ticks that settle uncertain
# sends (SETTLE apart, as a cron would run them) find nothing new to send.
TICK = datetime.fromisoformat("2027-01-12T12:00:00+00:00")  # feedback on session 1, the digest
AGENDAS = datetime.fromisoformat("2027-01-17T13:00:00+00:00")  # the agendas of session 2
SETTLE = timedelta(minutes=20)  # past the sent-items lookup's 15-minute delay
PHASES = ("schedule", "reschedule", "tick", "agendas")

Command = tuple[str, ...]


@dataclass(frozen=True)
class Phase:
    name: str
    command: Command  # the command killed
    then: tuple[Command, ...] = ()  # run after it, uninterrupted
    prepare: Callable[[Path], None] | None = None  # a change to the config before the phase


def timeline(config: Path, *, lookup: bool, phases: Sequence[str] = PHASES) -> list[Phase]:
    """The phases wanted, in order; with the sent-items lookup each tick is followed by one
    past the lookup's delay, which settles what the first left uncertain."""
    c = str(config)

    def tick(at: datetime) -> Command:
        return ("tick", "-c", c, "--now", at.isoformat())

    def settle(at: datetime) -> tuple[Command, ...]:
        return (tick(at + SETTLE),) if lookup else ()

    every = [
        Phase("schedule", ("schedule", "-c", c, "--now", NOW)),
        Phase("reschedule", ("schedule", "-c", c, "--now", NOW), prepare=longer_sessions),
        Phase("tick", tick(TICK), then=settle(TICK)),
        Phase("agendas", tick(AGENDAS), then=settle(AGENDAS)),
    ]
    unknown = set(phases) - set(PHASES)
    if unknown:
        raise ValueError(f"unknown phases {sorted(unknown)}; choose from {PHASES}")
    return [phase for phase in every if phase.name in phases]


def longer_sessions(config: Path) -> None:
    """Change every series (45 minutes become an hour): the update path of ``schedule``."""
    data = yaml.safe_load(config.read_text())
    data["defaults"]["duration"] = "1h"
    config.write_text(yaml.safe_dump(data, sort_keys=False))


def later(command: Command, by: timedelta) -> Command:
    """The same command with its ``--now`` moved on by ``by``."""
    at = command.index("--now") + 1
    moved = datetime.fromisoformat(command[at]) + by
    return (*command[:at], moved.isoformat(), *command[at + 1 :])
