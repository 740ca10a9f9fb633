"""Mutated configs and HR exports through the real CLI: accepted, or rejected in one line.

The property (``tests/fuzzing.py`` draws the cases and judges them): ``rmcal validate`` and
``rmcal schedule --dry-run`` end in exit 0, exit 3 when pairs cannot be placed (said in the
last line), or exit 2 with exactly one line naming the file and line; never a traceback, never
a file written, never a hang, at most two seconds of CPU a case. Seeded (``derandomize``) and
bounded so that CI stays fast; ``python -m bench.fuzz`` runs the same cases by the ten thousand
and reports what it saw.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from tests.fuzzing import ALIAS_BOMB, BASE_CONFIG, BASE_CSV, Case, build_case, cases, run_case

ROOT = Path(__file__).resolve().parent.parent
CI_CASES = 250


@settings(
    max_examples=CI_CASES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=cases())
def test_mutated_configs_are_accepted_or_rejected_in_one_line(case: Case) -> None:
    with tempfile.TemporaryDirectory() as folder:
        for outcome in run_case(Path(folder), case):
            assert outcome.problems == [], (outcome.command, outcome.output)


def test_the_unmutated_base_programme_is_valid() -> None:
    """The property means little if the base itself were rejected."""
    with tempfile.TemporaryDirectory() as folder:
        outcomes = run_case(Path(folder), build_case(()))
    assert [(o.command, o.exit_code, o.problems) for o in outcomes] == [
        ("validate", 0, []),
        ("schedule --dry-run", 0, []),
    ]
    assert "OK: 4 pairs in 1 cohort," in outcomes[0].output


def test_the_judge_catches_what_it_must() -> None:
    """A harness that cannot fail proves nothing: a second line, a missing line number and a
    written file each count as problems."""
    from tests.fuzzing import _judge_rejection

    config, csv = "/x/config.yaml", "/x/hr.csv"
    assert _judge_rejection("rmcal: error: /x/config.yaml:3: a: b\n", config, csv) == []
    assert _judge_rejection("rmcal: error: /x/config.yaml: the file is empty\n", config, csv) == []
    assert _judge_rejection("rmcal: error: /x/config.yaml: bad\n", config, csv) == [
        "no line number: 'rmcal: error: /x/config.yaml: bad'"
    ]
    assert _judge_rejection("one\ntwo\n", config, csv) == ["2 lines: 'one\\ntwo\\n'"]
    assert _judge_rejection("Error: no such option\n", config, csv) == [
        "not 'rmcal: error: file: ...': 'Error: no such option'"
    ]


def test_the_judge_accepts_exit_3_only_for_pairs_that_cannot_be_placed() -> None:
    from tests.fuzzing import _judge_partial

    report = "Plan (dry run, nothing written)\n  ...\n"
    placed = "rmcal: 1 pair cannot be placed (listed above); schedule would leave it undone\n"
    assert _judge_partial(report + placed) == []
    assert _judge_partial(report + "rmcal: error: config.yaml:3: bad\n") != []
    assert _judge_partial(report) != []


def test_the_harness_reports_hangs_and_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stand-ins for rmcal: one that never returns, one that writes a file and exits 2."""
    import time

    import click

    from tests import fuzzing

    loose = {"ignore_unknown_options": True, "allow_extra_args": True}

    @click.command(context_settings=loose)
    def sleeps() -> None:
        time.sleep(30)

    @click.command(context_settings=loose)
    @click.pass_context
    def writes(ctx: click.Context) -> None:
        config = Path(ctx.args[ctx.args.index("-c") + 1])
        (config.parent / "left-behind.txt").write_text("x")
        click.echo(f"rmcal: error: {config}:1: bad", err=True)
        ctx.exit(2)

    monkeypatch.setattr(fuzzing, "HANG_SECONDS", 1)
    for command, problem in ((sleeps, "hang"), (writes, "wrote files")):
        monkeypatch.setattr(fuzzing, "main", command)
        with tempfile.TemporaryDirectory() as folder:
            outcome = run_case(Path(folder), build_case(()))[0]
        assert outcome.problems == [problem]


# -- a few cases through a real process: the console entry point, stdout/stderr, exit status ------


def _hostile(snippet: str, at: str = "  kind: local\n") -> bytes:
    return BASE_CONFIG.replace(at, at + snippet).encode("utf-8", errors="surrogatepass")


SUBPROCESS_CASES = {
    "alias-bomb": (BASE_CONFIG + ALIAS_BOMB).encode(),
    "deep-flow": _hostile("  deep: " + "[" * 5000 + "]" * 5000 + "\n"),
    "raw-nul": _hostile("\x00"),
    "surrogate-escape": BASE_CONFIG.replace("Ana Silva", '"Ana \\udc80"').encode(),
    "interval-9999": BASE_CONFIG.replace(
        "every 2 weeks", '"RRULE:FREQ=YEARLY;INTERVAL=9999"'
    ).encode(),
    "year-9999": BASE_CONFIG.replace("2027-01-11", "9999-12-31").encode(),
    "latin-1": BASE_CONFIG.replace("Ana Silva", "Ana Silvá").encode("latin-1"),
}


@pytest.mark.parametrize("name", list(SUBPROCESS_CASES))
def test_hostile_configs_in_a_real_process(name: str, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_bytes(SUBPROCESS_CASES[name])
    (tmp_path / "hr.csv").write_text(BASE_CSV)
    before = sorted(p.name for p in tmp_path.iterdir())
    done = subprocess.run(
        [sys.executable, "-m", "rmcal", "schedule", "--dry-run", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "RMCAL_NOW": "2026-11-23T12:00:00+00:00"},
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith(f"rmcal: error: {config}:")
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before
