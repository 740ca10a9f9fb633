"""Pure CPU scenarios, no HTTP: planning a large cohort, judging a large cohort's health.

* ``plan N``: ``make_plan`` for N new pairs (real invitation rendering, as ``schedule`` does)
  against a realistic free/busy load: 15 busy blocks per person per week, of 30 to 90 minutes
  in the person's working hours, over the whole horizon. Config loading is timed apart.
* ``health N``: ``health.assess`` for N pairs of 26 weekly sessions each, half of them held,
  some declined, cancelled or moved, read at the 14th week.

Each prints one JSON line: the CPU seconds of the measured step (and of loading); the caller
reads the child's peak RSS.

    python -m bench.cpu plan 10000
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from bench.cohort import SCHEDULE_NOW, write_config
from rmcal.config import load_config
from rmcal.health import assess
from rmcal.intervals import Interval
from rmcal.invite import InviteRenderer
from rmcal.model import Config
from rmcal.plan import Create, make_plan
from rmcal.provider import Occurrence, Response, Series
from rmcal.schedule import busy_horizon
from rmcal.templating import TemplateEngine

BLOCKS_PER_WEEK = 15


def _config(pairs: int, folder: Path) -> tuple[Config, float]:
    path = write_config(folder, {"kind": "local", "folder": str(folder / "local")}, pairs)
    started = time.process_time()
    config = load_config(path, now=datetime.fromisoformat(SCHEDULE_NOW), force=True)
    return config, time.process_time() - started


def _busy(config: Config, start: datetime, end: datetime, rng: random.Random):
    """15 blocks a week per person, inside their 08:00-18:00 local working day."""
    busy: dict[str, tuple[Interval, ...] | None] = {}
    weeks = (end - start).days // 7 + 1
    for pair in config.pairs:
        for person in pair.people:
            blocks = []
            for week in range(weeks):
                monday = (start + timedelta(weeks=week)).astimezone(person.zone)
                monday = monday.replace(hour=0, minute=0, second=0, microsecond=0)
                monday -= timedelta(days=monday.weekday())
                for _ in range(BLOCKS_PER_WEEK):
                    day = rng.randrange(5)
                    minute = rng.randrange(8 * 60, 17 * 60, 30)
                    length = rng.choice((30, 60, 90))
                    begin = monday + timedelta(days=day, minutes=minute)
                    blocks.append((begin, begin + timedelta(minutes=length)))
            busy[person.email] = tuple(sorted(blocks))
    return busy


def plan(pairs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="rmcal-bench-cpu-") as scratch:
        config, loading = _config(pairs, Path(scratch))
        now = datetime.fromisoformat(SCHEDULE_NOW)
        start, end = busy_horizon(config, now, None)
        busy = _busy(config, start, end, random.Random(14))
        renderer = InviteRenderer(config, TemplateEngine(config.templates_dir), False)
        began = time.process_time()
        result = make_plan(config, {}, busy, now, renderer.render, video=False)
        seconds = time.process_time() - began
        created = len(result.of(Create))
    return {"seconds": seconds, "load_seconds": loading, "created": created}


def health(pairs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="rmcal-bench-cpu-") as scratch:
        config, _ = _config(pairs, Path(scratch))
        now = datetime.fromisoformat(SCHEDULE_NOW)
        renderer = InviteRenderer(config, TemplateEngine(config.templates_dir), False)
        planned = make_plan(config, {}, {}, now, renderer.render, video=False)
        rng = random.Random(26)
        readings = []
        for item in planned.of(Create):
            spec = item.spec
            series = Series(
                key=spec.key,
                provider_id=spec.key,
                title=spec.title,
                start=spec.start,
                duration=spec.duration,
                timezone=spec.timezone,
                rrule=spec.rrule,
                attendees=tuple(a.email for a in spec.attendees),
                tags=spec.tag_map,
            )
            occurrences = []
            for start in item.slot.starts:
                roll = rng.random()
                moved = timedelta(days=1) if roll < 0.05 else timedelta(0)
                answers = {a.email: Response.ACCEPTED for a in spec.attendees}
                if 0.05 <= roll < 0.1:
                    answers[spec.attendees[1].email] = Response.DECLINED
                occurrences.append(
                    Occurrence(
                        series_key=spec.key,
                        original_start=start,
                        start=start + moved,
                        end=start + moved + spec.duration,
                        cancelled=0.1 <= roll < 0.15,
                        responses=answers,
                    )
                )
            readings.append((item.pair, series, occurrences))
        at = readings[0][1].start + timedelta(weeks=13, days=3) if readings else now
        began = time.process_time()
        for pair, series, occurrences in readings:
            assess(pair, series, occurrences, at)
        seconds = time.process_time() - began
    return {"seconds": seconds, "pairs": len(readings)}


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    kind, pairs = args[0], int(args[1])
    result = plan(pairs) if kind == "plan" else health(pairs)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
