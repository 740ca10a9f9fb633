"""What rmcal keeps about one person or one cohort: find it, export it, delete it.

Why a module of its own: the state file holds people's e-mails, what they were sent and what
they answered, and a programme owes them an answer to "what do you keep about me?" and "forget
me" (``rmcal state export``, ``rmcal forget``). Both need the same selection, so it is written
once: the subject's pairs are found in the calendar (the truth about who met whom, through
rmcal's tags) and in the state file itself (ledger recipients, feedback respondents), and every
table is then searched by those pairs, by the subject's address and by the cohort id.

Provider caches in the key/value table are deleted whole when they mention the subject: they
are rebuilt by the next read (``rmcal.provider.KeyValue``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rmcal.errors import ConfigError
from rmcal.model import Config
from rmcal.provider import Series
from rmcal.schema import TABLES
from rmcal.store import Store


@dataclass(frozen=True)
class Subject:
    """Whom to find: one person (by e-mail) or one cohort (by id)."""

    person: str | None = None
    cohort: str | None = None

    def __post_init__(self) -> None:
        if (self.person is None) == (self.cohort is None):
            raise ValueError("a subject is one person or one cohort")

    @property
    def label(self) -> str:
        return f"person {self.person}" if self.person else f"cohort {self.cohort}"


@dataclass
class Found:
    """Everything the state file and the calendar hold about a subject."""

    subject: Subject
    pair_ids: set[str] = field(default_factory=set)
    series: list[Series] = field(default_factory=list)  # in the calendar, live or not
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # table -> rows

    def counts(self) -> dict[str, int]:
        return {table: len(self.rows.get(table, [])) for table in TABLES}


def refuse_if_configured(config: Config, subject: Subject) -> None:
    """Forgetting someone the config still names would be undone by the next run: refuse,
    naming the line to remove."""
    found = _configured(config, subject)
    if found is not None:
        message, file, line, key, hint = found
        raise ConfigError(message, file=file, line=line, key=key, hint=hint)


def _configured(
    config: Config, subject: Subject
) -> tuple[str, str, int | None, str | None, str] | None:
    """(message, file, line, key, hint) for where the config still names the subject."""
    path = str(config.path)
    if subject.cohort is not None:
        for index, cohort in enumerate(config.cohorts):
            if cohort.id == subject.cohort:
                key = f"cohorts[{index}]"
                again = "remove it first; otherwise the next run plans its series again"
                message = f"cohort {subject.cohort!r} is still in the config"
                return message, path, config.lines.get(key), key, again
        return None
    email = subject.person
    for pair in config.pairs:
        if email in (pair.mentor.email, pair.mentee.email):
            source = pair.source
            return (
                f"{email} is still in the config ({pair.mentor.name} / {pair.mentee.name}, "
                f"cohort {pair.cohort_id})",
                source.file if source else path,
                source.line if source else None,
                source.key if source else None,
                "remove the pair first; otherwise the next run schedules and mails them again",
            )
    for index, lead in enumerate(config.programme.leads):
        if lead.email == email:
            key = f"programme.leads[{index}]"
            again = "remove the lead first; otherwise the next digest is sent to them again"
            return f"{email} is still a lead in the config", path, config.lines.get(key), key, again
    return None


def find(store: Store, subject: Subject, calendar: Sequence[Series]) -> Found:
    """The subject's pairs and every row about them; ``calendar`` is every series rmcal made
    (``Provider.find_all_series``)."""
    found = Found(subject)
    email = subject.person
    if email is not None:
        found.series = [s for s in calendar if email in s.attendees]
        for row in _rows(store, "SELECT pair_id, recipients FROM mail WHERE pair_id IS NOT NULL"):
            if email in _addresses(row["recipients"]):
                found.pair_ids.add(row["pair_id"])
        for row in _rows(store, "SELECT pair_id FROM feedback WHERE respondent = ?", (email,)):
            found.pair_ids.add(row["pair_id"])
    else:
        found.series = [s for s in calendar if s.cohort_id == subject.cohort]
        for table in ("series", "snapshots"):
            sql = f"SELECT DISTINCT pair_id FROM {table} WHERE cohort_id = ?"
            found.pair_ids.update(r["pair_id"] for r in _rows(store, sql, (subject.cohort,)))
    found.pair_ids.update(s.pair_id for s in found.series if s.pair_id)
    pairs = sorted(found.pair_ids)
    cohort = subject.cohort
    found.rows["series"] = _matching(store, "series", pairs, cohort=cohort)
    found.rows["snapshots"] = _matching(store, "snapshots", pairs, cohort=cohort)
    found.rows["feedback"] = [
        r
        for r in _rows(store, "SELECT * FROM feedback")
        if r["pair_id"] in found.pair_ids or (email is not None and r["respondent"] == email)
    ]
    found.rows["mail"] = [
        r
        for r in _rows(store, "SELECT * FROM mail")
        if r["pair_id"] in found.pair_ids
        or (email is not None and email in _addresses(r["recipients"]))
    ]
    mail_keys = {r["key"] for r in found.rows["mail"]}
    words = _words(subject, found.series)
    found.rows["kv"] = [
        r
        for r in _rows(store, "SELECT * FROM kv")
        if r["key"] in mail_keys or any(w in r["value"].lower() for w in words)
    ]
    return found


def delete(store: Store, found: Found) -> dict[str, int]:
    """Delete every row ``find`` found, in one transaction; returns how many per table."""
    keys: dict[str, list[tuple[Any, ...]]] = {
        "series": [(r["key"],) for r in found.rows.get("series", [])],
        "mail": [(r["key"],) for r in found.rows.get("mail", [])],
        "snapshots": [(r["id"],) for r in found.rows.get("snapshots", [])],
        "feedback": [
            (r["pair_id"], r["session"], r["respondent"]) for r in found.rows.get("feedback", [])
        ],
        "kv": [(r["namespace"], r["key"]) for r in found.rows.get("kv", [])],
    }
    where = {
        "series": "key = ?",
        "mail": "key = ?",
        "snapshots": "id = ?",
        "feedback": "pair_id = ? AND session = ? AND respondent = ?",
        "kv": "namespace = ? AND key = ?",
    }
    with store.transaction() as db:
        for table in TABLES:
            db.executemany(f"DELETE FROM {table} WHERE {where[table]}", keys[table])
    return {table: len(keys[table]) for table in TABLES}


def export(found: Found) -> dict[str, Any]:
    """A JSON-ready document of everything found (provider caches by name only: they are
    copies of calendar data, and pending messages are in the ledger rows already)."""
    return {
        "subject": {"person": found.subject.person, "cohort": found.subject.cohort},
        "pairs": sorted(found.pair_ids),
        "calendar": [
            {
                "series_key": s.key,
                "cohort": s.cohort_id,
                "pair": s.pair_id,
                "title": s.title,
                "attendees": list(s.attendees),
                "first_session": s.start.isoformat(),
                "rrule": s.rrule,
                "cancelled": s.cancelled,
            }
            for s in found.series
        ],
        "state": {
            "series": found.rows.get("series", []),
            "mail": found.rows.get("mail", []),
            "snapshots": [_decoded(r) for r in found.rows.get("snapshots", [])],
            "feedback": found.rows.get("feedback", []),
            "kv": [
                {"namespace": r["namespace"], "key": r["key"], "updated_at": r["updated_at"]}
                for r in found.rows.get("kv", [])
            ],
        },
    }


def _rows(store: Store, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    return store.query(sql, args)


def _matching(store: Store, table: str, pairs: list[str], *, cohort: str | None) -> list[dict]:
    wanted = set(pairs)
    return [
        r
        for r in _rows(store, f"SELECT * FROM {table}")
        if r["pair_id"] in wanted or (cohort is not None and r["cohort_id"] == cohort)
    ]


def _addresses(recipients: str | None) -> set[str]:
    return {a.strip().lower() for a in (recipients or "").split(",") if a.strip()}


def _words(subject: Subject, series: Iterable[Series]) -> set[str]:
    """What a provider cache about the subject would contain: the address, or for a cohort
    its id and the addresses of everyone in its series."""
    if subject.person is not None:
        return {subject.person}
    words = {f'"{subject.cohort}"'.lower()}  # as a JSON string value, not as a substring
    for one in series:
        words.update(one.attendees)
    return words


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    with contextlib.suppress(TypeError, ValueError):
        out["data"] = json.loads(row["data"])
    return out
