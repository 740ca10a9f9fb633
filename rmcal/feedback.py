"""``rmcal feedback import``: read a form export (Microsoft or Google Forms) into the state file.

Why it exists: the digest reports the programme's average rating and the share of participants
who would recommend it, and those numbers live in whatever form tool the programme uses. Both
big ones export CSV; rmcal reads that CSV as it comes, without asking anyone to rename columns.

Accepted layouts (detected from the header row):

* **Microsoft Forms** (Excel export saved as CSV): ``ID, Start time, Completion time, Email,
  Name, <one column per question>``. ``Email`` is ``anonymous`` for anonymous forms; the
  response ``ID`` then identifies the respondent.
* **Google Forms** (Responses -> Download CSV): ``Timestamp, Email Address, <questions>``
  (``Email Address`` only when the form collects addresses; else the timestamp identifies the
  respondent).
* any other CSV with the question columns below and, optionally, an ``Email`` column.

Question columns are matched by their header text, case-insensitively, first match wins, in
this order: *recommend* -> would recommend (yes/no); *rate*/*rating*/*score* -> rating 1-5;
*awkward* -> what is awkward; *working* -> what is working; *learn* -> one thing learned;
*pair* -> the pair id (the feedback link fills it in); *session* -> the session number. So
"How would you rate this session?" is the rating, "Session" the session number.

A row needs a pair (or a respondent e-mail that belongs to exactly one pair) and a session
number. Ratings must be whole numbers 1-5 (``4``, ``4 - good`` and ``4/5`` are read as 4);
recommend answers are yes/no (``yes``, ``y``, ``true``, ``1``, ``no``, ``n``, ``false``, ``0``).
Bad rows are reported with their line number and left out; good rows are stored. Importing the
same export again replaces the same answers (keyed by pair, session and respondent).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rmcal.errors import ConfigError
from rmcal.model import Pair

if TYPE_CHECKING:  # the state file stores these rows, so it imports this module at run time
    from rmcal.store import Store

FIELDS = ("recommend", "rating", "awkward", "working", "learned", "pair", "session")
_PATTERNS = {
    "recommend": re.compile(r"recommend"),
    "rating": re.compile(r"\brat(e|ing)\b|\bscore\b"),
    "awkward": re.compile(r"awkward"),
    "working": re.compile(r"\bworking\b"),
    "learned": re.compile(r"\blearn"),
    "pair": re.compile(r"\bpair\b"),
    "session": re.compile(r"\bsession\b"),
}
# Form metadata: never a question, whatever words it contains.
_METADATA = {
    "id",
    "start time",
    "completion time",
    "last modified time",
    "email",
    "email address",
    "name",
    "timestamp",
}
_YES = {"yes", "y", "true", "1", "definitely", "yes, definitely"}
_NO = {"no", "n", "false", "0", "not really"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SESSION = re.compile(r"^\s*(?:session\s*)?#?\s*(\d{1,3})\s*$", re.IGNORECASE)
_RATING = re.compile(r"^\s*([1-5])\s*(?:$|[-/ (:]|stars?\b)", re.IGNORECASE)


@dataclass(frozen=True)
class FeedbackRow:
    """One respondent's answers about one session of one pair, as imported and stored."""

    pair_id: str
    session: int
    respondent: str  # lower-cased e-mail, or ``anonymous:<response id or line>``
    rating: int | None  # 1-5
    recommend: bool | None
    working: str | None
    awkward: str | None
    learned: str | None
    source: str  # the export's file name


@dataclass(frozen=True)
class FeedbackStored:
    """What storing an import changed: answers new to the state file, answers that replaced
    a different earlier one, and answers already imported exactly as they are."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class BadRow:
    line: int
    message: str


@dataclass
class FeedbackImport:
    """What one CSV gave: the rows to store, the rows refused, and how columns were read."""

    source: str
    layout: str
    columns: dict[str, str]  # field -> header text
    rows: list[FeedbackRow] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)
    stored: FeedbackStored = field(default_factory=FeedbackStored)


def _norm(header: str) -> str:
    return " ".join(header.replace("\ufeff", "").strip().lower().split())


def detect_layout(headers: Sequence[str]) -> str:
    names = [_norm(h) for h in headers]
    if {"id", "start time", "completion time"} <= set(names):
        return "Microsoft Forms"
    if names and names[0] == "timestamp":
        return "Google Forms"
    return "CSV"


def map_columns(headers: Sequence[str]) -> dict[str, int]:
    """Field -> column index, by header text (see the module docstring for the rules)."""
    found: dict[str, int] = {}
    for index, header in enumerate(headers):
        text = _norm(header)
        if text in _METADATA:
            continue
        for name in FIELDS:
            if name not in found and _PATTERNS[name].search(text):
                found[name] = index
                break
    return found


def _respondent_column(headers: Sequence[str]) -> int | None:
    names = [_norm(h) for h in headers]
    for wanted in ("email", "email address"):
        if wanted in names:
            return names.index(wanted)
    for index, name in enumerate(names):
        if "email" in name:
            return index
    return None


def _id_column(headers: Sequence[str]) -> int | None:
    names = [_norm(h) for h in headers]
    for wanted in ("id", "timestamp"):
        if wanted in names:
            return names.index(wanted)
    return None


def _recommend(value: str) -> bool | None:
    text = _norm(value)
    if not text:
        return None
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise ValueError(f"recommend answer {value!r} is not yes or no")


def _rating(value: str) -> int | None:
    if not value.strip():
        return None
    match = _RATING.match(value)
    if not match:
        raise ValueError(f"rating {value!r} is not a whole number from 1 to 5")
    return int(match.group(1))


def _text(value: str) -> str | None:
    text = value.strip()
    return text or None


def parse_feedback(text: str, source: str, pairs: Sequence[Pair]) -> FeedbackImport:
    """Read a form export's CSV text; pure (no store, no clock)."""
    by_id = {p.id.lower(): p for p in pairs}
    by_email: dict[str, list[Pair]] = {}
    for pair in pairs:
        for person in pair.people:
            by_email.setdefault(person.email, []).append(pair)

    handle = io.StringIO(text.lstrip("\ufeff"))
    reader = csv.reader(handle)
    try:
        headers = next(reader)
    except StopIteration:
        raise ConfigError("the file is empty", file=source) from None
    columns = map_columns(headers)
    respondent_col = _respondent_column(headers)
    id_col = _id_column(headers)
    if "session" not in columns:
        raise ConfigError(
            "no column for the session number",
            file=source,
            line=1,
            hint=f"a header containing 'session' is needed; found: {', '.join(headers)}",
        )
    if "pair" not in columns and respondent_col is None:
        raise ConfigError(
            "no column for the pair and no e-mail column to find it from",
            file=source,
            line=1,
            hint=f"a header containing 'pair' is needed; found: {', '.join(headers)}",
        )
    result = FeedbackImport(
        source=source,
        layout=detect_layout(headers),
        columns={name: headers[index].strip() for name, index in columns.items()},
    )

    previous_end = reader.line_num
    for record in reader:
        line = previous_end + 1
        previous_end = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        cells = record + [""] * (len(headers) - len(record))

        def cell(name: str, cells: list[str] = cells) -> str:
            index = columns.get(name)
            return cells[index].strip() if index is not None else ""

        try:
            email = cells[respondent_col].strip().lower() if respondent_col is not None else ""
            pair = _find_pair(cell("pair"), email, by_id, by_email)
            match = _SESSION.match(cell("session"))
            if not match or int(match.group(1)) < 1:
                raise ValueError(f"session {cell('session')!r} is not a session number")
            if _EMAIL.match(email):
                respondent = email
            else:
                anchor = cells[id_col].strip() if id_col is not None else ""
                respondent = f"anonymous:{anchor or line}"
            row = FeedbackRow(
                pair_id=pair.id,
                session=int(match.group(1)),
                respondent=respondent,
                rating=_rating(cell("rating")),
                recommend=_recommend(cell("recommend")),
                working=_text(cell("working")),
                awkward=_text(cell("awkward")),
                learned=_text(cell("learned")),
                source=Path(source).name,
            )
        except ValueError as exc:
            result.bad.append(BadRow(line, str(exc)))
            continue
        result.rows.append(row)
    return result


def _find_pair(
    value: str, email: str, by_id: dict[str, Pair], by_email: dict[str, list[Pair]]
) -> Pair:
    if value:
        pair = by_id.get(value.strip().lower())
        if pair is None:
            raise ValueError(f"pair {value!r} is not a pair of this programme")
        return pair
    candidates = by_email.get(email, [])
    if len(candidates) == 1:
        return candidates[0]
    if not email:
        raise ValueError("no pair given and no e-mail to find it from")
    if not candidates:
        raise ValueError(f"no pair given and {email} is in no pair")
    raise ValueError(f"no pair given and {email} is in {len(candidates)} pairs")


def import_feedback(path: Path, pairs: Sequence[Pair], store: Store) -> FeedbackImport:
    """Read ``path`` and store its good rows; bad rows are returned, not stored."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror or exc}", file=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"the file is not UTF-8 text (byte {exc.start})",
            file=str(path),
            hint="export the CSV as UTF-8 (Excel: 'CSV UTF-8')",
        ) from None
    result = parse_feedback(text, str(path), pairs)
    if result.rows:
        result.stored = store.put_feedback(result.rows)
    return result
