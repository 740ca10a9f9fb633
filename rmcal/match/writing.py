"""The pairs file: what ``rmcal match`` writes for ``rmcal schedule`` to read (``pairs_csv``).

Why a CSV the config names rather than edits to the config: the admin's YAML keeps its
comments and order untouched, the file is readable in any spreadsheet (with each pair's score
and reasons beside it), and ``rmcal schedule`` reads it exactly like any HR export. It is
written whole or not at all: into a temporary file beside it, then renamed over it.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import tempfile
from pathlib import Path

from rmcal.config import CSV_COLUMNS
from rmcal.errors import ConfigError
from rmcal.match.run import MatchResult

# The columns written, in order: every one is a column ``pairs_csv`` reads.
PAIR_COLUMNS = tuple(c for c in CSV_COLUMNS if c not in {"slot", "lead"})


def pairs_csv(result: MatchResult) -> str:
    """The pairs file's text: one row per pair, best score first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PAIR_COLUMNS)
    for pair in result.pairs:
        cells = {"focus": ", ".join(pair.topics), "match_score": f"{pair.score:.2f}"}
        cells["match_reasons"] = pair.why
        for role, person in (("mentor", pair.mentor), ("mentee", pair.mentee)):
            cells.update(
                {
                    f"{role}_email": person.email,
                    f"{role}_name": person.name,
                    f"{role}_timezone": person.timezone,
                    f"{role}_days": person.days or "",
                    f"{role}_hours": person.hours or "",
                }
            )
        writer.writerow([cells[column] for column in PAIR_COLUMNS])
    return out.getvalue()


def write_pairs(result: MatchResult, path: Path, *, shown: str, force: bool) -> None:
    """Write the pairs file at ``path`` (named ``shown`` in messages), atomically.

    An existing file is only replaced with ``force``: it may hold pairs already scheduled.
    """
    if path.exists() and not force:
        raise ConfigError(
            "the pairs file already exists",
            file=shown,
            hint="use --force to replace it (its pairs may already be scheduled)",
        )
    if not path.parent.is_dir():
        raise ConfigError(f"there is no folder {str(path.parent)!r} to write into", file=shown)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(pairs_csv(result))
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
