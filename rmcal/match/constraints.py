"""The hard rules: which mentor-mentee pairs may be made at all, and, for each, why not.

Each rule is its own boolean matrix (mentors x mentees) rather than one combined verdict,
because a person left unmatched deserves the reason in words ("every candidate with shared
hours is in their management chain"), and that reason is the first rule that empties their
row. The rules, in the order they explain: shared hours (and a session slot), a shared
language, the management chain, and earlier pairs or an ``avoid`` list.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from rmcal.match.people import Participant
from rmcal.model import MatchRules


@dataclass(frozen=True)
class Rules:
    """The verdict of each hard rule for every (mentor, mentee); ``allowed`` is all of them."""

    hours: np.ndarray  # enough shared hours a week, and a whole session fits, every session
    language: np.ndarray  # a language in common (or the rule is off, or one side lists none)
    chain: np.ndarray  # neither is in the other's management chain
    history: np.ndarray  # not a pair before (another cohort, this cohort) nor on an avoid list

    @property
    def allowed(self) -> np.ndarray:
        return self.hours & self.language & self.chain & self.history

    def ordered(self) -> list[tuple[str, np.ndarray]]:
        """The rules in the order an unmatched person's reason is looked for."""
        return [
            ("hours", self.hours),
            ("language", self.language),
            ("chain", self.chain),
            ("history", self.history),
        ]


def hard_rules(
    mentors: Sequence[Participant],
    mentees: Sequence[Participant],
    *,
    hours: np.ndarray,
    slot: np.ndarray,
    rules: MatchRules,
    everyone: Sequence[Participant],
    earlier: Collection[frozenset[str]],
) -> Rules:
    """Every rule for every (mentor, mentee); ``hours``/``slot`` are per person already.

    ``everyone`` is the whole file (people listed only for the chain included); ``earlier``
    holds the pairs (as two e-mails) that must not be made again.
    """
    minimum = rules.min_overlap.total_seconds() / 3600
    return Rules(
        hours=slot & (hours >= minimum - 1e-9),
        language=_languages(mentors, mentees) if rules.shared_language else _all(mentors, mentees),
        chain=_chain(mentors, mentees, everyone, rules.management_chain),
        history=_history(mentors, mentees, earlier),
    )


def _all(mentors: Sequence[Participant], mentees: Sequence[Participant]) -> np.ndarray:
    return np.ones((len(mentors), len(mentees)), dtype=bool)


def _incidence(people: Sequence[Participant], items: dict[str, int], attr: str) -> np.ndarray:
    matrix = np.zeros((len(people), max(1, len(items))), dtype=np.float32)
    for row, person in enumerate(people):
        for item in getattr(person, attr):
            matrix[row, items[item]] = 1
    return matrix


def _languages(mentors: Sequence[Participant], mentees: Sequence[Participant]) -> np.ndarray:
    """True where the two share a language; someone who lists none is not held to the rule."""
    names = sorted({lang for p in [*mentors, *mentees] for lang in p.languages})
    index = {name: i for i, name in enumerate(names)}
    shared = _incidence(mentors, index, "languages") @ _incidence(mentees, index, "languages").T
    silent_mentor = np.array([not p.languages for p in mentors], dtype=bool)
    silent_mentee = np.array([not p.languages for p in mentees], dtype=bool)
    return (shared > 0) | silent_mentor[:, None] | silent_mentee[None, :]


def chains(everyone: Iterable[Participant], depth: int | None) -> dict[str, list[str]]:
    """Each person's managers, nearest first, up to ``depth`` levels (None: as far as known).

    The file has been checked for cycles (``people.check_chain``), so every walk ends.
    """
    manager = {p.email: p.manager for p in everyone}
    out: dict[str, list[str]] = {}
    for email in manager:
        above: list[str] = []
        current = manager[email]
        while current is not None and (depth is None or len(above) < depth):
            above.append(current)
            current = manager.get(current)
        out[email] = above
    return out


def _chain(
    mentors: Sequence[Participant],
    mentees: Sequence[Participant],
    everyone: Sequence[Participant],
    depth: int | None,
) -> np.ndarray:
    """False where one of the two manages the other, directly or up the line."""
    ok = _all(mentors, mentees)
    above = chains(everyone, depth)
    mentor_index = {p.email: i for i, p in enumerate(mentors)}
    mentee_index = {p.email: j for j, p in enumerate(mentees)}
    for email, managers in above.items():
        for boss in managers:
            if email in mentor_index and boss in mentee_index:
                ok[mentor_index[email], mentee_index[boss]] = False
            if email in mentee_index and boss in mentor_index:
                ok[mentor_index[boss], mentee_index[email]] = False
    return ok


def _history(
    mentors: Sequence[Participant],
    mentees: Sequence[Participant],
    earlier: Collection[frozenset[str]],
) -> np.ndarray:
    ok = _all(mentors, mentees)
    mentor_index = {p.email: i for i, p in enumerate(mentors)}
    mentee_index = {p.email: j for j, p in enumerate(mentees)}
    avoided = {frozenset((p.email, other)) for p in [*mentors, *mentees] for other in p.avoid}
    for pair in {*earlier, *avoided}:
        if len(pair) != 2:
            continue
        a, b = sorted(pair)
        for mentor, mentee in ((a, b), (b, a)):
            if mentor in mentor_index and mentee in mentee_index:
                ok[mentor_index[mentor], mentee_index[mentee]] = False
    return ok
