"""Pairs that must not be made again, and places already used in the cohort being matched.

Two sources, both read only:

- **the config**: every pair of every other cohort, and the pairs already written under the
  matched cohort's own ``pairs:`` (these stay, and use up a place of each of their people);
- **the state file**, when it exists: every series rmcal ever scheduled, including pairs since
  removed from the config. A series row holds only the pair id, which is one-way (a hash of the
  cohort and both e-mails behind a readable ``mentor-mentee`` prefix), so a row is matched to
  people by that prefix and then confirmed by recomputing the id.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rmcal.match.people import Participant
from rmcal.model import Config, email_slug, pair_id
from rmcal.store import SeriesRow


@dataclass
class History:
    """``earlier``: pairs (two e-mails) never to repeat; ``used``: places taken per e-mail."""

    earlier: set[frozenset[str]] = field(default_factory=set)
    used: Counter[str] = field(default_factory=Counter)


def history(
    config: Config,
    cohort_id: str,
    people: Sequence[Participant],
    series: Iterable[SeriesRow] = (),
) -> History:
    """What the config and the state file's ``series`` rows say about earlier pairs."""
    found = History()
    for cohort in config.cohorts:
        for pair in cohort.pairs:
            found.earlier.add(frozenset((pair.mentor.email, pair.mentee.email)))
            if cohort.id == cohort_id:
                found.used.update((pair.mentor.email, pair.mentee.email))
    by_slug: dict[str, list[str]] = {}
    for person in people:
        by_slug.setdefault(email_slug(person.email), []).append(person.email)
    for row in series:
        if row.cohort_id != cohort_id:
            found.earlier.update(_people_of(row, by_slug))
    return found


def _people_of(row: SeriesRow, by_slug: dict[str, list[str]]) -> set[frozenset[str]]:
    """The (mentor, mentee) in the file whose pair id is ``row.pair_id`` (none when unknown)."""
    stem = row.pair_id.rsplit("-", 1)[0]
    out = set()
    for at, char in enumerate(stem):
        if char != "-":
            continue
        for mentor in by_slug.get(stem[:at], ()):
            for mentee in by_slug.get(stem[at + 1 :], ()):
                if pair_id(row.cohort_id, mentor, mentee) == row.pair_id:
                    out.add(frozenset((mentor, mentee)))
    return out
