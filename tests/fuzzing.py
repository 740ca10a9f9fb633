"""Mutated configs and HR exports, run through the real CLI and judged: the fuzzing harness.

Shared by the property test in the normal suite (``tests/test_fuzz.py``, a few hundred seeded
cases) and the long run (``python -m bench.fuzz``, ten thousand and more). A case is a valid
programme (``BASE_CONFIG`` with ``BASE_CSV`` as its HR export) with one to three mutations drawn
by hypothesis: a value replaced by one of another type or a hostile one, a key dropped,
renamed or nested, raw text spliced in (control characters, NUL, escapes for surrogates, tabs,
anchors, aliases, an alias bomb, merge keys, deep brackets, YAML tags, a second document), lines
duplicated, dropped or truncated, the file re-encoded, and CSV cells, columns and rows broken the
same ways. Each case runs ``rmcal validate`` and ``rmcal schedule --dry-run`` in-process and must
end in exit 0, exit 3 when a valid programme has pairs that cannot be placed (the report, then
one ``rmcal: ...`` line saying so), or exit 2 with exactly one line that names the file and line;
never a traceback, never a file written, never a hang, and at most ``BUDGET_SECONDS`` of CPU.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import strategies as st

from rmcal.cli import main
from tests.deadline import Hung, deadline

NOW = "2026-11-23T12:00:00+00:00"
BUDGET_SECONDS = 2.0  # CPU time per case: one validate and one dry run together
HANG_SECONDS = 30  # wall clock: past this a case counts as a hang

BASE_CONFIG = """\
programme:
  name: Fuzz Programme
  purpose: Juniors teach seniors how they work.
  organizer: {email: rm@northwind.example, name: Reverse Mentoring}
  timezone: Europe/London
  leads:
    - {email: lee@northwind.example, name: Lee Lead, cohorts: [c1]}
provider:
  kind: local
  folder: ./out
state: ./state.db
defaults:
  cadence: every 2 weeks
  sessions: 4
  duration: 45m
  window: &hours {days: Mon-Fri, hours: "09:00-17:00"}
  agenda_lead: 24h
  feedback_delay: 1h
  feedback_form_url: "https://forms.northwind.example/f?pair={pair}&session={session}"
  digest: {weekday: Mon, time: "08:00"}
  thresholds: {at_risk_missed: 1, off_track_missed: 2, confirmed_share: 0.5}
cohorts:
  - id: c1
    start: 2027-01-11
    settings: {video: auto, window: *hours}
    pairs:
      - mentor: {email: ana@northwind.example, name: Ana Silva, timezone: Europe/London}
        mentee: {email: bob@northwind.example, name: Bob Stone, timezone: America/New_York}
        focus: AI tools
        slot: Wed 10:00
        lead: lee@northwind.example
      - mentor: {email: cy@northwind.example, name: Cy Park, window: {hours: "08:00-12:00"}}
        mentee: {email: di@northwind.example, name: Di Rao, timezone: Asia/Kolkata}
        settings: {cadence: "RRULE:FREQ=WEEKLY;INTERVAL=3;BYDAY=TU,TH"}
    pairs_csv: hr.csv
"""
BASE_CSV = """\
mentor_email,mentor_name,mentor_timezone,mentee_email,mentee_name,mentee_timezone,focus,slot,lead
eve@northwind.example,Eve Ng,Europe/Berlin,fay@northwind.example,Fay Lim,Asia/Singapore,Data,,
gus@northwind.example,Gus Roy,,hal@northwind.example,Hal Cho,America/Chicago,,Thu 10:00,
"""

# -- what mutations splice in ---------------------------------------------------------------------

# A few hundred bytes that expand to ten million values (the "billion laughs" of YAML).
ALIAS_BOMB = "bomb0: &b0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"bomb{i}: &b{i} [{', '.join([f'*b{i - 1}'] * 10)}]\n" for i in range(1, 7)
)

HOSTILE_TEXT = [
    "",
    " ",
    "localtime",
    "Factory",
    "a..b@example.com",
    "ana@northwind.local",
    "Ana <ana@northwind.example>",
    '=HYPERLINK("http://x")',
    "@SUM(A1)",
    "RRULE:FREQ=YEARLY;INTERVAL=9999",
    "RRULE:FREQ=WEEKLY;INTERVAL=0",
    "RRULE:FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30",
    "RRULE:FREQ=MONTHLY;BYMONTHDAY=32",
    "RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
    "RRULE:FREQ=MONTHLY;BYDAY=5MO;BYMONTH=2",
    "RRULE:FREQ=YEARLY;BYMONTH=2",
    "every 52 weeks",
    "every 12 months",
    "Wed 14:00 Asia/Tokyo",
    "Sun 23:59 Pacific/Kiritimati",
    "Mon 24:00",
    "24:00-00:00",
    "00:00-24:00",
    "Sun-Sat",
    "https://x.example/{pair!r}",
    "https://x.example/{}",
    "https://x.example/{0}",
    "${HOME}/x",
    "$NOPE",
    "~",
    "/dev/zero",
    "/dev/null",
    "/",
    ".",
    "../../../../etc/passwd",
    "pipe.csv",
    "/" + "x" * 300,
    "x" * 10_000,
    "Ünïcödé 名前 \u202e",
    "9999-12-31",
    "0001-01-01",
    "2027-02-29",
    "1e309",
    "-0",
    "0x7fffffffffffffff",
    "1:2:3:4:5:6:7",
    "99999999999999999999999999999999999999",
    ".nan",
    "~/state.db",
    "microsoft",
    "google",
    "00:00-24:00",
    "Sun 23:30 Pacific/Kiritimati",
    "RRULE:FREQ=MONTHLY;BYDAY=-1FR",
    "RRULE:FREQ=DAILY;INTERVAL=366",
    "2031-11-24",
    "8h",
    "14 days",
]
YAML_SNIPPETS = [
    "\x00",
    "\x07",
    "\x1b[2J",
    "\x1b]0;title\x07",
    "\x85",
    "\x9b",
    "\ufeff",
    "\t",
    "\r",
    "\r\n",
    '"\\ud800"',
    '"\\x1b"',
    '"\\0"',
    "&a ",
    "*a",
    "*nope",
    "<<: *hours\n",
    "&self {<<: *self}",
    "[" * 80 + "]" * 80,
    "{" * 80 + "}" * 80,
    "!!python/object/apply:os.system ['true']",
    "!!binary AAAA",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "? [a, b]\n: c\n",
    "\n---\nx: 1\n",
    "\n...\n",
    "%YAML 1.1\n",
    ": : :",
    "'unterminated",
    '"unterminated',
    "- - - -",
    "\n  extra: {a: 1}\n",
    "\n" + ALIAS_BOMB,
]
ENCODINGS = ["utf-16", "utf-32", "latin-1", "cp1252", "utf-8-sig"]
CSV_SNIPPETS = ["\x00", "\x1b[31m", '"', '""', ",", ";", "\t", "\r", "\n", "=1+1", "\ufeff"]


def _tree_paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _tree_paths(child, (*path, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _tree_paths(child, (*path, index))


BASE_TREE = yaml.safe_load(BASE_CONFIG)
PATHS = list(_tree_paths(BASE_TREE))[1:]

# -- strategies -----------------------------------------------------------------------------------

scalars = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=40),
    st.sampled_from(HOSTILE_TEXT),
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
text_positions = st.floats(min_value=0, max_value=1)

tree_mutation = st.one_of(
    st.tuples(st.just("replace"), st.sampled_from(PATHS), values),
    st.tuples(st.just("drop"), st.sampled_from(PATHS), st.none()),
    st.tuples(
        st.just("rename"), st.sampled_from(PATHS), st.sampled_from(["", "x", "Name", "mentro"])
    ),
    st.tuples(st.just("nest"), st.sampled_from(PATHS), st.sampled_from([1, 2, 3, 60])),
    st.tuples(st.just("repeat"), st.sampled_from(PATHS), st.integers(min_value=2, max_value=300)),
)
text_mutation = st.one_of(
    st.tuples(st.just("splice"), text_positions, st.sampled_from(YAML_SNIPPETS)),
    st.tuples(st.just("splice"), text_positions, st.text(min_size=1, max_size=8)),
    st.tuples(st.just("duplicate-line"), text_positions, st.none()),
    st.tuples(st.just("drop-line"), text_positions, st.none()),
    st.tuples(st.just("truncate"), text_positions, st.none()),
    st.tuples(st.just("indent"), text_positions, st.sampled_from(["\t", " ", "   "])),
)
csv_mutation = st.one_of(
    st.tuples(st.just("cell"), st.integers(0, 2), st.integers(0, 8), st.sampled_from(HOSTILE_TEXT)),
    st.tuples(st.just("cell"), st.integers(0, 2), st.integers(0, 8), st.text(max_size=12)),
    st.tuples(st.just("csv-splice"), text_positions, st.none(), st.sampled_from(CSV_SNIPPETS)),
    st.tuples(st.just("csv-row"), st.integers(0, 2), st.integers(1, 12), st.none()),
)
encoding_mutation = st.tuples(
    st.just("encode"), st.sampled_from(["config", "csv"]), st.sampled_from(ENCODINGS)
)


@dataclass(frozen=True)
class Case:
    """One fuzz case: what was done to the base files (for the report), and the files."""

    steps: tuple[Any, ...]
    config: bytes
    csv: bytes


@st.composite
def cases(draw: Callable[..., Any]) -> Case:
    """A valid programme with one to five mutations (tree first, then text, CSV, encoding).

    Mostly changes of values and keys, which reach the deepest checks; raw text, CSV and
    encoding damage less often, as most of it is rejected before YAML sees the file.
    """
    tree_steps = draw(st.lists(tree_mutation, max_size=3))
    text_steps = draw(st.lists(text_mutation, max_size=1))
    csv_steps = draw(st.lists(csv_mutation, max_size=1))
    encode = draw(st.sampled_from([None] * 9 + [encoding_mutation]))
    encode_steps = (draw(encode),) if encode is not None else ()
    steps = (*tree_steps, *text_steps, *csv_steps, *encode_steps)
    if not steps:
        steps = (draw(st.one_of(tree_mutation, text_mutation, csv_mutation)),)
    return build_case(steps)


def build_case(steps: tuple[Any, ...]) -> Case:
    tree = yaml.safe_load(BASE_CONFIG)
    text: str | None = None
    rows = [line.split(",") for line in BASE_CSV.splitlines()]
    csv_text: str | None = None
    config_encoding = csv_encoding = "utf-8"
    for step in steps:
        kind = step[0]
        if kind in {"replace", "drop", "rename", "nest", "repeat"}:
            _mutate_tree(tree, step)
        elif kind in {"splice", "duplicate-line", "drop-line", "truncate", "indent"}:
            text = _mutate_text(text if text is not None else _dump(tree), step)
        elif kind == "cell":
            _, row, column, value = step
            if row < len(rows) and column < len(rows[row]):
                rows[row][column] = value
        elif kind == "csv-splice":
            base = csv_text if csv_text is not None else _rows_text(rows)
            csv_text = _splice(base, step[1], step[3])
        elif kind == "csv-row":
            _, row, width, _ = step
            if row < len(rows):
                rows.insert(row + 1, ["x"] * width)
        elif kind == "encode":
            if step[1] == "config":
                config_encoding = step[2]
            else:
                csv_encoding = step[2]
    config = text if text is not None else _dump(tree)
    csv_out = csv_text if csv_text is not None else _rows_text(rows)
    return Case(steps, _encode(config, config_encoding), _encode(csv_out, csv_encoding))


def _dump(tree: Any) -> str:
    try:
        return yaml.safe_dump(tree, allow_unicode=True, sort_keys=False, width=1000)
    except (yaml.YAMLError, ValueError):  # a value YAML cannot represent: keep the base
        return BASE_CONFIG


def _rows_text(rows: list[list[str]]) -> str:
    return "".join(",".join(row) + "\n" for row in rows)


def _encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding, errors="surrogatepass" if "utf" in encoding else "replace")


def _parent(tree: Any, path: tuple[Any, ...]) -> tuple[Any, Any] | None:
    """The container holding ``path`` and the key in it, if the path still exists."""
    node = tree
    for step in path[:-1]:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return None
    if isinstance(node, dict) and path[-1] in node:
        return node, path[-1]
    if isinstance(node, list) and isinstance(path[-1], int) and path[-1] < len(node):
        return node, path[-1]
    return None


def _mutate_tree(tree: Any, step: tuple[Any, ...]) -> None:
    kind, path, argument = step
    found = _parent(tree, path)
    if found is None:
        return
    node, key = found
    if kind == "replace":
        node[key] = argument
    elif kind == "drop":
        del node[key]
    elif kind == "rename" and isinstance(node, dict):
        node[f"{key}{argument}" if argument else f"_{key}"] = node.pop(key)
    elif kind == "nest":
        value = node[key]
        for _ in range(argument):
            value = [value]
        node[key] = value
    elif kind == "repeat" and isinstance(node, list):
        node.extend([node[key]] * argument)


def _at(text: str, where: float) -> int:
    return min(len(text), int(where * len(text)))


def _splice(text: str, where: float, snippet: str) -> str:
    index = _at(text, where)
    return text[:index] + snippet + text[index:]


def _mutate_text(text: str, step: tuple[Any, ...]) -> str:
    kind, where, argument = step
    lines = text.splitlines(keepends=True)
    line = min(len(lines) - 1, int(where * len(lines))) if lines else 0
    if kind == "splice":
        return _splice(text, where, argument)
    if kind == "duplicate-line" and lines:
        return "".join(lines[: line + 1] + lines[line:])
    if kind == "drop-line" and lines:
        return "".join(lines[:line] + lines[line + 1 :])
    if kind == "truncate":
        return text[: _at(text, where)]
    if kind == "indent" and lines:
        lines[line] = argument + lines[line]
        return "".join(lines)
    return text


# -- running a case -------------------------------------------------------------------------------

PARTIAL_LINE = re.compile(r"rmcal: (?!error:)\d[\d,]* pairs? cannot be placed .+")
ONE_LINE = re.compile(r"rmcal: error: (?P<file>.+?)(?::(?P<line>\d+))?: (?P<rest>.+)")
# Problems with the whole file, which no single line can be blamed for.
WHOLE_FILE = re.compile(
    r"the file is empty|missing required key '(programme|provider|cohorts)'|the config file is"
)


@dataclass
class Outcome:
    """What one command did with one case, judged."""

    command: str
    exit_code: int
    output: str
    cpu: float
    wall: float
    problems: list[str] = field(default_factory=list)


def write_case(folder: Path, case: Case) -> Path:
    """The case's files in ``folder`` (plus a FIFO that a mutation may name); the config path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_bytes(case.config)
    (folder / "hr.csv").write_bytes(case.csv)
    if hasattr(os, "mkfifo") and not (folder / "pipe.csv").exists():
        os.mkfifo(folder / "pipe.csv")
    return folder / "config.yaml"


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every entry under ``folder`` with its size and modification time."""
    out = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        out[str(path.relative_to(folder))] = (info.st_size, info.st_mtime_ns)
    return out


COMMANDS = {
    "validate": ["validate"],
    "schedule --dry-run": ["schedule", "--dry-run"],
}


def run_case(folder: Path, case: Case) -> list[Outcome]:
    """Both commands on the case's files in ``folder``, each judged on its own."""
    config = write_case(folder, case)
    csv_shown = str(folder / "hr.csv")
    outcomes = []
    for name, args in COMMANDS.items():
        before = snapshot(folder)
        started, cpu_started = time.monotonic(), _cpu()
        try:
            with deadline(HANG_SECONDS):
                result = CliRunner().invoke(main, [*args, "-c", str(config), "--now", NOW])
            hung = result.exception if isinstance(result.exception, Hung) else None
        except Hung as exc:  # the alarm struck outside the runner's own catch-all
            hung = exc
        if hung is not None:
            outcomes.append(
                Outcome(name, -1, str(hung), _cpu() - cpu_started, HANG_SECONDS, ["hang"])
            )
            continue
        outcome = Outcome(
            name,
            result.exit_code,
            result.output,
            _cpu() - cpu_started,
            time.monotonic() - started,
        )
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            outcome.problems.append(
                f"traceback: {type(result.exception).__name__}: {result.exception}"
            )
        elif "Traceback" in result.output:
            outcome.problems.append("traceback in the output")
        elif result.exit_code == 2:
            outcome.problems.extend(_judge_rejection(result.output, str(config), csv_shown))
        elif result.exit_code == 3:
            outcome.problems.extend(_judge_partial(result.output))
        elif result.exit_code != 0:
            outcome.problems.append(f"exit {result.exit_code}: {result.output.strip()[:300]}")
        if snapshot(folder) != before:
            outcome.problems.append("wrote files")
        outcomes.append(outcome)
    spent = sum(outcome.cpu for outcome in outcomes)
    if spent > BUDGET_SECONDS:  # the budget is the whole case's: both commands together
        outcomes[-1].problems.append(f"slow: {spent:.2f} s of CPU for the case")
    return outcomes


def _judge_rejection(output: str, config: str, csv: str) -> list[str]:
    lines = output.splitlines()
    if len(lines) != 1:
        return [f"{len(lines)} lines: {output[:300]!r}"]
    match = ONE_LINE.fullmatch(lines[0])
    if match is None:
        return [f"not 'rmcal: error: file: ...': {lines[0][:300]!r}"]
    if match["file"] not in {config, csv} and not Path(match["file"]).exists():
        return [f"names {match['file']!r}, not the config or a file it names"]
    if match["line"] is None and not WHOLE_FILE.search(match["rest"]):
        return [f"no line number: {lines[0][:300]!r}"]
    return []


def _judge_partial(output: str) -> list[str]:
    """Exit 3: a valid programme with pairs that cannot be placed. The report comes first and
    the last line says what is undone, as an outcome (``rmcal: ...``), not as an error."""
    lines = output.splitlines()
    last = lines[-1] if lines else ""
    if not PARTIAL_LINE.fullmatch(last):
        return [f"exit 3 without 'rmcal: ... cannot be placed': {output.strip()[-300:]!r}"]
    return []


def _cpu() -> float:
    """CPU seconds of this process and its finished children (template workers)."""
    own = time.process_time()
    children = os.times()
    return own + children.children_user + children.children_system
