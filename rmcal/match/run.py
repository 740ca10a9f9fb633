"""One matching run: a cohort, its people, the programme's rules in; pairs and reasons out.

The pipeline, each step in its own module: ``history`` (pairs never to repeat, places already
used), ``hours`` (shared hours per pair of places, by the slot finder's rules), ``constraints``
(the hard rules), ``scoring`` (the score), ``solver`` (the optimal assignment), ``explain``
(the words). Pure: the caller reads the files and writes the result (``writing``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from rmcal.match.constraints import Rules, hard_rules
from rmcal.match.explain import pair_reasons, unmatched_reason
from rmcal.match.history import history
from rmcal.match.hours import Place, shared_time
from rmcal.match.people import Participant, People
from rmcal.match.scoring import shared_topics, terms
from rmcal.match.solver import assign
from rmcal.model import Cohort, Config, MatchRules
from rmcal.store import SeriesRow


@dataclass(frozen=True)
class MatchedPair:
    """A pair the matcher made, with its score, the score's terms and the reasons in words."""

    mentor: Participant
    mentee: Participant
    score: float
    terms: dict[str, float]
    topics: tuple[str, ...]
    hours: float
    reasons: tuple[str, ...]

    @property
    def why(self) -> str:
        return "; ".join(self.reasons)


@dataclass(frozen=True)
class Unmatched:
    """Someone left without a pair, and why."""

    person: Participant
    reason: str


@dataclass(frozen=True)
class MatchResult:
    cohort: Cohort
    people: People
    rules: MatchRules
    pairs: tuple[MatchedPair, ...]
    unmatched: tuple[Unmatched, ...]
    exact: bool = True

    @property
    def total_score(self) -> float:
        return sum(pair.score for pair in self.pairs)


def match_people(
    config: Config, cohort: Cohort, people: People, *, series: Iterable[SeriesRow] = ()
) -> MatchResult:
    """The best pairs for ``cohort`` among ``people`` under ``config.matching``.

    ``series`` are the state file's series rows (earlier pairs the config may have dropped).
    """
    rules = config.matching
    past = history(config, cohort.id, people.rows, series)
    left_out: list[Unmatched] = []
    sides: dict[str, list[Participant]] = {}
    places: dict[str, list[int]] = {}
    for role in ("mentor", "mentee"):
        sides[role], places[role] = [], []
        for person in people.of_role(role):
            free = 0 if person.opt_out else max(0, person.capacity - past.used[person.email])
            if free:
                sides[role].append(person)
                places[role].append(free)
            elif person.opt_out:
                left_out.append(Unmatched(person, "opted out"))
            elif person.capacity == 0:
                left_out.append(Unmatched(person, "capacity 0: takes no pair this round"))
    mentors, mentees = sides["mentor"], sides["mentee"]
    hours, slot = _shared(mentors, mentees, cohort)
    verdict = hard_rules(
        mentors,
        mentees,
        hours=hours,
        slot=slot,
        rules=rules,
        everyone=people.rows,
        earlier=past.earlier,
    )
    parts = terms(mentors, mentees, hours=hours)
    score = parts.score(rules.weights)
    solution = assign(
        score, verdict.allowed, mentor_places=places["mentor"], mentee_places=places["mentee"]
    )
    pairs = [
        MatchedPair(
            mentor=mentors[i],
            mentee=mentees[j],
            score=round(float(score[i, j]), 2),
            terms=parts.of(i, j),
            topics=tuple(shared_topics(mentors[i], mentees[j])),
            hours=float(hours[i, j]),
            reasons=tuple(pair_reasons(mentors[i], mentees[j], hours=float(hours[i, j]))),
        )
        for i, j in solution.pairs
    ]
    pairs.sort(key=lambda p: (-p.score, p.mentor.email, p.mentee.email))
    left_out.extend(_unmatched(mentors, mentees, places, solution.pairs, verdict, rules))
    left_out.sort(key=lambda u: (u.person.role, u.person.email))
    return MatchResult(
        cohort=cohort,
        people=people,
        rules=rules,
        pairs=tuple(pairs),
        unmatched=tuple(left_out),
        exact=solution.exact,
    )


def _shared(
    mentors: Sequence[Participant], mentees: Sequence[Participant], cohort: Cohort
) -> tuple[np.ndarray, np.ndarray]:
    """Shared hours and slot per (mentor, mentee), computed once per pair of places."""
    mentor_places = {Place(p.timezone, p.window): 0 for p in mentors}
    mentee_places = {Place(p.timezone, p.window): 0 for p in mentees}
    for index, place in enumerate(mentor_places):
        mentor_places[place] = index
    for index, place in enumerate(mentee_places):
        mentee_places[place] = index
    shared = shared_time(
        list(mentor_places),
        list(mentee_places),
        settings=cohort.settings,
        start=cohort.start,
    )
    rows = np.array([mentor_places[Place(p.timezone, p.window)] for p in mentors], dtype=int)
    columns = np.array([mentee_places[Place(p.timezone, p.window)] for p in mentees], dtype=int)
    grid = np.ix_(rows, columns)
    return shared.hours[grid], shared.slot[grid]


def _unmatched(
    mentors: Sequence[Participant],
    mentees: Sequence[Participant],
    places: dict[str, list[int]],
    chosen: Sequence[tuple[int, int]],
    verdict: Rules,
    rules: MatchRules,
) -> list[Unmatched]:
    """Everyone who takes part but got no pair, with the first reason that applies."""
    per_mentor = Counter(i for i, _ in chosen)
    per_mentee = Counter(j for _, j in chosen)
    mentor_full = np.array([per_mentor[i] >= n for i, n in enumerate(places["mentor"])])
    mentee_full = np.array([per_mentee[j] >= n for j, n in enumerate(places["mentee"])])
    minimum = rules.min_overlap.total_seconds() / 3600
    out = []
    for is_mentor, side, counts, others, taken in (
        (True, mentors, per_mentor, mentees, mentee_full),
        (False, mentees, per_mentee, mentors, mentor_full),
    ):
        for index, person in enumerate(side):
            if counts[index]:
                continue
            reason = unmatched_reason(
                person,
                index=index,
                is_mentor=is_mentor,
                rules=verdict,
                others=others,
                taken=taken,
                min_hours=minimum,
            )
            out.append(Unmatched(person, reason))
    return out
