"""Checks across the pairs of one cohort: the same pair twice, one person in two zones, and
two fixed slots that put one person in two sessions at once.

Why after loading rather than while reading a value: each rule needs several pairs at once, so it
runs on the cohort's drafts, which keep the nodes a message must point at (a CSV row's cell, or
the later of two clashing ``slot:`` lines).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from rmcal.config.yamlsource import Node
from rmcal.model import Pair
from rmcal.recurrence import RecurrenceError, first_start, series_times


@dataclass
class PairDraft:
    """A pair with the nodes later cross-checks point at."""

    pair: Pair
    node: Node
    index: int
    mentor_node: Node
    mentee_node: Node
    slot_node: Node | None
    lead_node: Node | None

    @property
    def anchor(self) -> Node:
        """Where pair-level problems point: the pair, or a CSV row's mentee cell."""
        return self.mentee_node.require("email") if self.node.columns is not None else self.node

    def where(self) -> str:
        """How another message names this pair: its key path and line, or its CSV line."""
        source = self.pair.source
        if source is None:
            return self.node.path
        if self.node.columns is not None:
            return f"{source.file}:{source.line}"
        return f"{source.key} (line {source.line})"


def check_cohort(drafts: list[PairDraft], start: date) -> None:
    """Every cross-pair rule for one cohort whose sessions begin on ``start``."""
    check_pairs(drafts)
    check_overlaps(drafts, start)


def check_pairs(drafts: list[PairDraft]) -> None:
    """The same pair twice, or one person in two zones, inside one cohort."""
    seen: dict[tuple[str, str], PairDraft] = {}
    zones: dict[str, tuple[str, PairDraft]] = {}
    for draft in drafts:
        pair = draft.pair
        key = (pair.mentor.email, pair.mentee.email)
        if key in seen:
            draft.anchor.fail(
                f"{pair.mentor.email} and {pair.mentee.email} are already a pair in this cohort, "
                f"at {seen[key].where()}",
                hint="remove one of the two",
            )
        seen[key] = draft
        for person, node in ((pair.mentor, draft.mentor_node), (pair.mentee, draft.mentee_node)):
            known = zones.get(person.email)
            if known is not None and known[0] != person.timezone:
                target = node.get("timezone") or node.require("email")
                target.fail(
                    f"{person.email} is in {person.timezone} here but in {known[0]} "
                    f"at {known[1].where()}",
                    hint="give this person the same timezone everywhere in a cohort",
                )
            zones.setdefault(person.email, (person.timezone, draft))


_Session = tuple[datetime, datetime, PairDraft]


def check_overlaps(drafts: list[PairDraft], start: date) -> None:
    """Two fixed slots that put one person in two sessions at once.

    Only fixed slots can be judged here (searched slots are kept apart by the slot finder).
    Every occurrence of both series is compared in UTC, so a clash that only appears in the
    weeks when two zones' daylight-saving rules disagree is caught too.
    """
    busy: dict[str, list[_Session]] = {}
    for draft in drafts:
        if draft.pair.fixed_slot is None:
            continue
        for occurrence in _fixed_slot_starts(draft, start):
            end = occurrence + draft.pair.settings.duration
            for person in draft.pair.people:
                busy.setdefault(person.email, []).append((occurrence, end, draft))
    for email, sessions in busy.items():
        sessions.sort(key=lambda s: (s[0], s[2].index))
        clash = _first_overlap(sessions)
        if clash is None:
            continue
        (a_start, a), (b_start, b) = clash
        later, earlier = (a, b) if a.index > b.index else (b, a)
        day = max(a_start, b_start).astimezone(_slot_zone(later.pair)).date()
        assert later.slot_node is not None and earlier.pair.fixed_slot is not None
        later.slot_node.fail(
            f"{email} would be in two sessions at once: this slot overlaps "
            f"{earlier.pair.fixed_slot.describe()} of {earlier.where()} on {day}",
            hint="give one of the two pairs another slot, or drop slot: to let rmcal search",
        )


def _first_overlap(
    sessions: list[_Session],
) -> tuple[tuple[datetime, PairDraft], tuple[datetime, PairDraft]] | None:
    """Sweep sessions sorted by start; the first two of different pairs that overlap."""
    latest: _Session | None = None
    for start, end, draft in sessions:
        if latest is not None and start < latest[1] and draft is not latest[2]:
            return (latest[0], latest[2]), (start, draft)
        if latest is None or end > latest[1]:
            latest = (start, end, draft)
    return None


def _slot_zone(pair: Pair) -> ZoneInfo:
    slot = pair.fixed_slot
    return ZoneInfo(slot.timezone if slot and slot.timezone else pair.mentee.timezone)


def _fixed_slot_starts(draft: PairDraft, start: date) -> list[datetime]:
    """Every start of a fixed-slot series in UTC, as the slot finder will expand it.

    A raw cadence rule can give fewer sessions from this slot's day than from the cohort's
    start (``FREQ=YEARLY;BYMONTH=2`` from the 30th never occurs); that is this slot's fault.
    """
    pair = draft.pair
    slot = pair.fixed_slot
    assert slot is not None and draft.slot_node is not None
    first = first_start(start, weekday=slot.weekday, minute=slot.minute, zone=_slot_zone(pair))
    try:
        series = series_times(pair.settings, first)
    except RecurrenceError as exc:
        draft.slot_node.fail(
            f"{slot.describe()} with cadence {pair.settings.cadence.text!r}: {exc}",
            hint="choose another slot or cadence, or drop slot: to let rmcal search",
        )
    return [moment.astimezone(UTC) for moment in series.starts]
