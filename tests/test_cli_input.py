"""What the command line itself hands rmcal: ``-c`` and ``--now`` are input like the config."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from rmcal.cli import main
from rmcal.config import load_config

ROOT = Path(__file__).resolve().parent.parent


def rmcal(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


@pytest.mark.parametrize("now", ["9999-12-31", "0001-01-01T00:00", "1999-12-31T23:59Z"])
def test_now_outside_the_years_rmcal_can_count_from_is_one_line(now: str, tmp_path: Path) -> None:
    """The loader adds five years to today, tick and health add look-aheads: 9999 overflowed."""
    shutil.copy(ROOT / "config.example.yaml", tmp_path / "c.yaml")
    for command in ("validate", "status", "tick"):
        code, output = rmcal(command, "-c", str(tmp_path / "c.yaml"), "--now", now)
        assert (code, output) == (
            2,
            f"rmcal: error: --now: {now!r} is not between the years 2000 and 2999; "
            "check the year\n",
        )


def test_the_loader_counts_safely_from_the_last_representable_day(tmp_path: Path) -> None:
    config = load_config(
        ROOT / "tests" / "fixtures" / "config" / "valid_minimal.yaml",
        now=datetime(9999, 12, 31, tzinfo=UTC),
        force=True,
    )
    assert config.cohorts[0].id == "c1"


def test_a_folder_given_as_config_is_one_line_not_a_usage_screen(tmp_path: Path) -> None:
    assert rmcal("validate", "-c", str(tmp_path)) == (
        2,
        f"rmcal: error: {tmp_path}: the config file is a folder, not a regular file\n",
    )


def test_a_preview_path_the_system_refuses_is_one_line(tmp_path: Path) -> None:
    shutil.copy(ROOT / "config.example.yaml", tmp_path / "c.yaml")
    preview = tmp_path / ("p" * 300 + ".html")
    code, output = rmcal(
        "digest", "-c", str(tmp_path / "c.yaml"), "--now", "2027-01-20", "--preview", str(preview)
    )
    assert (code, output) == (
        2,
        "rmcal: error: --preview: the path component 'pppppppppppppppppppppppp...' "
        "is 305 bytes long, more than 255\n",
    )
