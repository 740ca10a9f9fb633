"""Why no weekly time holds for a pair: which weeks break it, and why, in words that are true.

Why a module of its own: the slot search (``rmcal.slots``) stops at the first good candidate and
never needs any of this; only when nothing holds does an admin need the story, and the story
must be true. "The windows never overlap" is false for a pair whose windows overlap in 38 weeks
of 40; what helps is "they overlap in 38 of 40 weeks, not in the two weeks from 28 Mar while the
clocks differ, and the best time, Mon 13:45 Asia/Kathmandu, breaks on those two sessions".

Two facts are measured, both pure:

- **the shared time of each week**: the longest stretch during which both people are inside
  their windows (each read in their own zone), week by week (Monday to Sunday in the mentee's
  zone) from the cohort's start to the last session;
- **the best time**: among every candidate the search tried (``Trial``), the one that holds for
  the most sessions, with the sessions it breaks on and the first reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from rmcal.model import Pair, Person
from rmcal.templating import duration_text

UTC = ZoneInfo("UTC")
_T = TypeVar("_T")
HINT = "widen a window, shorten the sessions or set a fixed slot"
# How many runs of broken sessions a reason lists before it says "and N more".
MAX_RUNS = 3


@dataclass(frozen=True)
class Trial:
    """One weekly time tried for every session: ``problems[i]`` says why session i leaves a
    window (None: it fits). ``slot`` names the time as the plan would (``Mon 13:45 Asia/...``).
    """

    slot: str
    starts: tuple[datetime, ...]
    problems: tuple[str | None, ...]

    @property
    def fits(self) -> int:
        return sum(problem is None for problem in self.problems)


@dataclass(frozen=True)
class Week:
    """One week of the series: its Monday (mentee's zone), the longest stretch both people are
    inside their windows, and how far apart their clocks are that week (mentee minus mentor)."""

    monday: date
    shared: timedelta
    apart: timedelta


def why_no_slot(pair: Pair, best: Trial | None, *, start: date, last: date, fixed: bool) -> str:
    """The reason a pair has no slot, naming the slot it speaks of (see the module docstring).

    ``best`` is the time that holds for the most sessions (the fixed slot, when ``fixed``);
    ``last`` is the day of the series' last session, so the weeks measured are the series'.
    """
    if best is None:
        return "the cadence leaves no weekday to try"
    if fixed:
        name = pair.fixed_slot.describe() if pair.fixed_slot else best.slot
        return f"fixed slot {name} {_holds(best)}"
    duration = pair.settings.duration
    weeks = weekly_overlap(pair, start, last)
    enough = [w for w in weeks if w.shared >= duration]
    length = duration_text(duration)
    if not enough:
        most = max((w.shared for w in weeks), default=timedelta(0))
        mentor, mentee = _describe(pair, "mentor"), _describe(pair, "mentee")
        head = f"{mentor} and {mentee} never overlap for {length}"
        if len(weeks) > 1:
            head += f" in any of the {len(weeks)} weeks of the series"
        if most > timedelta(0):
            head += f" (at most {duration_text(most)} in a week)"
        return head
    total = len(best.starts)
    sessions = f"all {total} sessions" if total > 1 else "the session"
    if len(enough) < len(weeks):
        short = [w for w in weeks if w.shared < duration]
        overlap = (
            f"the windows overlap for {length} in only {len(enough)} of {len(weeks)} weeks "
            f"(not in the weeks of {_week_runs(short)}{_clocks(pair, enough, short)})"
        )
    else:
        overlap = f"the windows overlap for {length} every week, but not at one time of day"
    if best.fits == 0:
        found = "no time on the series' weekdays fits even one session"
    else:
        found = f"the best time, {best.slot}, {_holds(best)}"
    return f"no weekly time holds for {sessions}: {overlap}; {found}; {HINT}"


def _holds(trial: Trial) -> str:
    """``holds for 38 of 40 sessions and breaks on 29 Mar-5 Apr 2027 (2 sessions): why``."""
    total = len(trial.problems)
    broken = [i for i, problem in enumerate(trial.problems) if problem is not None]
    if not broken:
        return f"holds for all {total} sessions"
    first = trial.problems[broken[0]]
    if not trial.fits:
        return f"breaks on all {total} sessions: {first}" if total > 1 else f"breaks: {first}"
    held = f"holds for {trial.fits} of {total} sessions and breaks on"
    return f"{held} {_session_runs(trial, broken)}: {first}"


def _session_runs(trial: Trial, broken: Sequence[int]) -> str:
    """Broken sessions as runs of consecutive ones: ``Mon 1 Mar 2027, 5 Apr-19 Apr 2027 (3
    sessions)``, dates as the slot's zone reads them."""
    texts = []
    for run in _runs(broken, lambda a, b: b == a + 1):
        first, final = trial.starts[run[0]], trial.starts[run[-1]]
        if len(run) == 1:
            texts.append(f"{first:%a} {_dates(first.date(), first.date())}")
        else:
            texts.append(f"{_dates(first.date(), final.date())} ({len(run)} sessions)")
    return _listed(texts, "sessions")


def _week_runs(weeks: Sequence[Week]) -> str:
    """Consecutive weeks as ranges of days, Monday of the first to Sunday of the last."""
    runs = _runs(weeks, lambda a, b: b.monday == a.monday + timedelta(weeks=1))
    texts = [_dates(run[0].monday, run[-1].monday + timedelta(days=6)) for run in runs]
    return _listed(texts, "weeks")


def _runs(items: Sequence[_T], follows: Callable[[_T, _T], bool]) -> list[list[_T]]:
    """``items`` cut into runs in which each item ``follows`` the one before it."""
    runs: list[list[_T]] = []
    for item in items:
        if runs and follows(runs[-1][-1], item):
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


def _listed(texts: Sequence[str], noun: str) -> str:
    """The first ``MAX_RUNS`` runs, then how many more runs there are."""
    if len(texts) <= MAX_RUNS:
        return ", ".join(texts)
    return ", ".join(texts[:MAX_RUNS]) + f" and {len(texts) - MAX_RUNS} more runs of {noun}"


def _clocks(pair: Pair, good: Sequence[Week], bad: Sequence[Week]) -> str:
    """``, while Europe/London and Asia/Tokyo are 8 h apart instead of 9 h`` when the clocks
    are the reason: the weeks that break all see the zones a different distance apart."""
    usual = Counter(w.apart for w in good).most_common(1)[0][0]
    other = sorted({w.apart for w in bad})
    if usual in other:
        return ""
    apart = " or ".join(duration_text(abs(a)) for a in other)
    return (
        f", while {pair.mentor.timezone} and {pair.mentee.timezone} are {apart} apart instead "
        f"of {duration_text(abs(usual))}"
    )


def weekly_overlap(pair: Pair, first: date, last: date) -> list[Week]:
    """The shared time of each week from the week of ``first`` to the week of ``last``.

    Weeks run Monday to Sunday in the mentee's zone; each person's window is laid out day by day
    in their own zone (so a DST change in either zone moves it), and the longest stretch inside
    both, within the week, is that week's shared time.
    """
    monday = first - timedelta(days=first.weekday())
    weeks = []
    while monday <= last:
        begin = datetime.combine(monday, time(0), pair.mentee.zone)
        end = datetime.combine(monday + timedelta(weeks=1), time(0), pair.mentee.zone)
        mentor = _window_intervals(pair, pair.mentor, monday)
        mentee = _window_intervals(pair, pair.mentee, monday)
        longest = timedelta(0)
        for a_start, a_end in mentor:
            for b_start, b_end in mentee:
                low = max(a_start, b_start, begin.astimezone(UTC))
                high = min(a_end, b_end, end.astimezone(UTC))
                longest = max(longest, high - low)
        middle = datetime.combine(monday + timedelta(days=3), time(12), UTC)
        apart = (middle.astimezone(pair.mentee.zone).utcoffset() or timedelta(0)) - (
            middle.astimezone(pair.mentor.zone).utcoffset() or timedelta(0)
        )
        weeks.append(Week(monday=monday, shared=longest, apart=apart))
        monday += timedelta(weeks=1)
    return weeks


def _window_intervals(pair: Pair, person: Person, monday: date) -> list[tuple[datetime, datetime]]:
    """The person's window on each local day around the week, as UTC intervals."""
    window = pair.window_of(person)
    out = []
    for offset in range(-1, 9):
        day = monday + timedelta(days=offset)
        if day.weekday() not in window.days:
            continue
        midnight = datetime.combine(day, time(0), person.zone)
        out.append(
            (
                (midnight + timedelta(minutes=window.start_minute)).astimezone(UTC),
                (midnight + timedelta(minutes=window.end_minute)).astimezone(UTC),
            )
        )
    return out


def _describe(pair: Pair, role: str) -> str:
    person = pair.mentor if role == "mentor" else pair.mentee
    return f"{role} {person.timezone} {pair.window_of(person).describe()}"


def _dates(first: date, last: date) -> str:
    """``28 Mar-3 Apr 2027``, or ``28 Dec 2026-3 Jan 2027`` across a year."""
    if first == last:
        return f"{first.day} {first:%b %Y}"
    if first.year == last.year:
        return f"{first.day} {first:%b}-{last.day} {last:%b %Y}"
    return f"{first.day} {first:%b %Y}-{last.day} {last:%b %Y}"
