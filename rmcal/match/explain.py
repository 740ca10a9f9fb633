"""Reasons in words: why a pair was made, and why someone was left without one.

Why its own module: the words are what an admin forwards to the people concerned, so they are
chosen with care and in one place, apart from the numbers they explain. A pair's reasons name
each term of its score; an unmatched person's reason is the first hard rule that left them no
candidate, or, when candidates remained, that every one of them was taken.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rmcal.match.constraints import Rules
from rmcal.match.people import Participant
from rmcal.match.scoring import shared_topics


def hours_text(hours: float) -> str:
    """``4.5`` -> ``4.5 h/week``; ``40.0`` -> ``40 h/week``."""
    return f"{hours:g} h/week"


def pair_reasons(mentor: Participant, mentee: Participant, *, hours: float) -> list[str]:
    """What the two have going for them, in the order of the score's terms."""
    reasons = []
    topics = shared_topics(mentor, mentee)
    if topics:
        reasons.append("shared: " + ", ".join(topics))
    elif mentee.topics:
        reasons.append("no shared topics")
    reasons.append(f"{hours_text(hours)} overlap in both windows")
    if mentor.department and mentee.department:
        same = mentor.department.casefold() == mentee.department.casefold()
        reasons.append("same department" if same else "different departments")
    if mentor.level is not None and mentee.level is not None:
        reasons.append(_generation(mentor, mentee))
    return reasons


def _generation(mentor: Participant, mentee: Participant) -> str:
    if mentor.age_band and mentee.age_band:
        return f"age bands {mentor.age_band} and {mentee.age_band}"
    assert mentor.level is not None and mentee.level is not None
    gap = mentee.level - mentor.level
    if gap <= 0:
        return "mentee not more senior"
    levels = f"{gap:g} seniority level" + ("" if gap == 1 else "s")
    return f"mentee {levels} above"


def unmatched_reason(
    person: Participant,
    *,
    index: int,
    is_mentor: bool,
    rules: Rules,
    others: Sequence[Participant],
    taken: np.ndarray,
    min_hours: float,
) -> str:
    """Why ``person`` (row or column ``index`` of the rule matrices) got no pair.

    ``taken`` says, for each person on the other side, whether all their places went to pairs.
    """
    other = "mentee" if is_mentor else "mentor"
    if not others:
        return f"no {other} in the file takes part"
    left = np.ones(len(others), dtype=bool)
    for name, matrix in rules.ordered():
        left &= matrix[index, :] if is_mentor else matrix[:, index]
        if not left.any():
            return _rule_words(name, other=other, person=person, min_hours=min_hours)
    free = int((left & ~taken).sum())
    count = int(left.sum())
    if free:  # only after the solver gave up a shared place (MatchResult.exact is False)
        return f"not paired although {free} possible {other}(s) have room (see the note above)"
    if count == 1:
        return f"capacity exhausted: the one possible {other} has no place left"
    return f"capacity exhausted: all {count} possible {other}s have no place left"


def _rule_words(name: str, *, other: str, person: Participant, min_hours: float) -> str:
    if name == "hours":
        return (
            f"no {other} with overlapping hours (needs {hours_text(min_hours)} in both windows "
            f"and a session time that fits both at every session; {person.timezone} "
            f"{person.window.describe()})"
        )
    if name == "language":
        spoken = ", ".join(sorted(person.languages))
        return f"no {other} with overlapping hours who speaks {spoken}"
    if name == "chain":
        return f"every {other} with overlapping hours is in their management chain"
    return f"every remaining {other} was their partner in an earlier cohort or is on an avoid list"
