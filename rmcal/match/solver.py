"""The optimal assignment: as many pairs as the hard rules allow, and among those the best total.

Why ``scipy.optimize.linear_sum_assignment``: it is a maintained, exact solver for the
assignment problem (a shortest-augmenting-path method in C++), and it solves 3,000 x 3,000 in
a fraction of a second, so the whole population is solved at once rather than greedily.

Two reductions make it fit the programme:

- **Most pairs first.** A pair the rules allow is worth ``BIG + score`` and one they forbid
  ``0``; with ``BIG`` above any total of scores, the optimum has the most allowed pairs there
  can be and, among those, the highest total score. Forbidden pairs in the solution (worth 0)
  are simply dropped: they only fill rows the rules leave empty.
- **Capacities.** A person who may take ``c`` pairs becomes ``c`` identical copies. Copies
  alone could pair the same two people twice (two copies each); when the solution does, that
  pair is *pinned*: from then on it may only use one reserved copy of one of the two (a copy
  per pinned partner, so any valid set of pairs can still be laid out on the copies), and the
  problem is solved again. This repeats until no pair appears twice, so the answer stays
  exact. Only if both people already have a reserved copy for every place they have is a copy
  shared, and the result is marked ``exact=False`` (never seen in practice; it needs several
  people with many places on both sides who all prefer each other twice over).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

MAX_ROUNDS = 100


@dataclass(frozen=True)
class Solution:
    """The chosen pairs as (mentor index, mentee index), sorted, and whether provably optimal."""

    pairs: tuple[tuple[int, int], ...]
    exact: bool = True
    rounds: int = 1


def assign(
    score: np.ndarray,
    allowed: np.ndarray,
    *,
    mentor_places: Sequence[int],
    mentee_places: Sequence[int],
) -> Solution:
    """Pairs that maximise (number of pairs, total score) under ``allowed`` and the places.

    ``score`` must be non-negative where ``allowed``; ``*_places`` say how many pairs each
    mentor and mentee may take (0: none).
    """
    rows = np.repeat(np.arange(len(mentor_places)), mentor_places)
    columns = np.repeat(np.arange(len(mentee_places)), mentee_places)
    if not len(rows) or not len(columns):
        return Solution(pairs=())
    copy_of_row = _copy_numbers(mentor_places)
    copy_of_column = _copy_numbers(mentee_places)
    big = float(score[allowed].max(initial=0.0)) * min(len(rows), len(columns)) + 1.0
    value = np.where(allowed, big + score, 0.0)[np.ix_(rows, columns)]
    pinned: dict[int, list[int]] = {}  # person (rows: mentor, else -1 - mentee) -> partners
    exact = True
    for round_number in range(1, MAX_ROUNDS + 1):
        chosen_rows, chosen_columns = linear_sum_assignment(value, maximize=True)
        keep = value[chosen_rows, chosen_columns] > 0
        pairs = list(
            zip(
                rows[chosen_rows[keep]].tolist(),
                columns[chosen_columns[keep]].tolist(),
                strict=True,
            )
        )
        twice = sorted(pair for pair, count in Counter(pairs).items() if count > 1)
        if not twice:
            return Solution(pairs=tuple(sorted(pairs)), exact=exact, rounds=round_number)
        for mentor, mentee in twice:
            exact &= _pin(
                value,
                mentor=mentor,
                mentee=mentee,
                rows=rows,
                columns=columns,
                copy_of_row=copy_of_row,
                copy_of_column=copy_of_column,
                mentor_places=mentor_places,
                mentee_places=mentee_places,
                pinned=pinned,
            )
    raise RuntimeError("the capacity guard did not settle")  # pragma: no cover


def _copy_numbers(places: Sequence[int]) -> np.ndarray:
    """For each copy, its number among its person's copies (0, 1, ... c-1)."""
    return np.concatenate([np.arange(n) for n in places]) if len(places) else np.array([])


def _pin(
    value: np.ndarray,
    *,
    mentor: int,
    mentee: int,
    rows: np.ndarray,
    columns: np.ndarray,
    copy_of_row: np.ndarray,
    copy_of_column: np.ndarray,
    mentor_places: Sequence[int],
    mentee_places: Sequence[int],
    pinned: dict[int, list[int]],
) -> bool:
    """Let ``mentor``-``mentee`` use one reserved copy only; False when no copy was free."""
    on_mentor = pinned.setdefault(mentor, [])
    on_mentee = pinned.setdefault(-1 - mentee, [])
    pair_rows = rows == mentor
    pair_columns = columns == mentee
    if len(on_mentor) < mentor_places[mentor]:
        keep_rows = pair_rows & (copy_of_row == len(on_mentor))
        on_mentor.append(mentee)
        value[np.ix_(pair_rows & ~keep_rows, pair_columns)] = 0.0
        return True
    if len(on_mentee) < mentee_places[mentee]:
        keep_columns = pair_columns & (copy_of_column == len(on_mentee))
        on_mentee.append(mentor)
        value[np.ix_(pair_rows, pair_columns & ~keep_columns)] = 0.0
        return True
    # Both full: one copy each, shared with an earlier pin (see the module's docstring).
    keep_rows = pair_rows & (copy_of_row == 0)
    keep_columns = pair_columns & (copy_of_column == 0)
    value[np.ix_(pair_rows, pair_columns)] = np.where(
        np.outer(keep_rows[pair_rows], keep_columns[pair_columns]),
        value[np.ix_(pair_rows, pair_columns)],
        0.0,
    )
    return False
