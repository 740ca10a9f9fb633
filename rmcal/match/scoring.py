"""The score of a pair: a weighted sum of four terms, each between 0 and 1 (docs/match.md).

    score = topics x coverage + department x different + generation x gap + overlap x room

- coverage: the share of the topics the mentee wants that the mentor offers (0 when the mentee
  lists none);
- different: 1 when both departments are known and differ;
- gap: how far the mentee is above the mentor, in seniority levels (or decades of age band),
  up to 3, divided by 3;
- room: shared hours a week, up to 5 (an hour a working day), divided by 5.

Why so plain: an admin must be able to predict a score by hand and explain it to the pair,
so there is no normalisation across the file and no hidden term; the weights are the
programme's (``matching.weights``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rmcal.match.people import Participant
from rmcal.model import MatchWeights

MAX_GAP = 3.0
FULL_ROOM_HOURS = 5.0


@dataclass(frozen=True)
class Terms:
    """Each term for every (mentor, mentee), and the topics the two share (for the reasons)."""

    topics: np.ndarray
    department: np.ndarray
    generation: np.ndarray
    overlap: np.ndarray

    def score(self, weights: MatchWeights) -> np.ndarray:
        return (
            weights.topics * self.topics
            + weights.department * self.department
            + weights.generation * self.generation
            + weights.overlap * self.overlap
        )

    def of(self, row: int, column: int) -> dict[str, float]:
        return {
            "topics": float(self.topics[row, column]),
            "department": float(self.department[row, column]),
            "generation": float(self.generation[row, column]),
            "overlap": float(self.overlap[row, column]),
        }


def terms(
    mentors: Sequence[Participant], mentees: Sequence[Participant], *, hours: np.ndarray
) -> Terms:
    """The four terms for every (mentor, mentee); ``hours`` is shared hours a week per pair."""
    return Terms(
        topics=_coverage(mentors, mentees),
        department=_departments(mentors, mentees),
        generation=_gap(mentors, mentees),
        overlap=np.minimum(hours, FULL_ROOM_HOURS) / FULL_ROOM_HOURS,
    )


def topic_key(topic: str) -> str:
    """Topics match whatever their case and spacing: ``AI Tools`` is ``ai tools``."""
    return " ".join(topic.casefold().split())


def shared_topics(mentor: Participant, mentee: Participant) -> list[str]:
    """The mentee's wanted topics that the mentor offers, as the mentee wrote them."""
    offered = {topic_key(t) for t in mentor.topics}
    return [t for t in mentee.topics if topic_key(t) in offered]


def _coverage(mentors: Sequence[Participant], mentees: Sequence[Participant]) -> np.ndarray:
    keys = sorted({topic_key(t) for p in [*mentors, *mentees] for t in p.topics})
    index = {key: i for i, key in enumerate(keys)}
    offered = np.zeros((len(mentors), max(1, len(keys))), dtype=np.float64)
    wanted = np.zeros((len(mentees), max(1, len(keys))), dtype=np.float64)
    for row, person in enumerate(mentors):
        for topic in person.topics:
            offered[row, index[topic_key(topic)]] = 1
    for row, person in enumerate(mentees):
        for topic in person.topics:
            wanted[row, index[topic_key(topic)]] = 1
    counts = wanted.sum(axis=1)
    shared = offered @ wanted.T
    return np.divide(shared, counts[None, :], out=np.zeros_like(shared), where=counts[None, :] > 0)


def _departments(mentors: Sequence[Participant], mentees: Sequence[Participant]) -> np.ndarray:
    names = sorted({(p.department or "").casefold() for p in [*mentors, *mentees]} - {""})
    index = {name: i + 1 for i, name in enumerate(names)}  # 0: not given
    mentor = np.array([index.get((p.department or "").casefold(), 0) for p in mentors])
    mentee = np.array([index.get((p.department or "").casefold(), 0) for p in mentees])
    known = (mentor[:, None] > 0) & (mentee[None, :] > 0)
    return (known & (mentor[:, None] != mentee[None, :])).astype(np.float64)


def _gap(mentors: Sequence[Participant], mentees: Sequence[Participant]) -> np.ndarray:
    mentor = np.array([np.nan if p.level is None else p.level for p in mentors], dtype=float)
    mentee = np.array([np.nan if p.level is None else p.level for p in mentees], dtype=float)
    gap = mentee[None, :] - mentor[:, None]
    return np.nan_to_num(np.clip(gap, 0.0, MAX_GAP) / MAX_GAP, nan=0.0)
