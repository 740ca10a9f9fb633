"""Plain helpers shared by the ``rmcal.config`` tests: where the fixtures are, and one load call.

Configs load with a fixed clock and an empty environment, so a test never depends on the day it
runs or on the machine's ``HOME``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rmcal.config import load_config
from rmcal.errors import ConfigError
from rmcal.model import Config
from tests.config.cases import ERRORS

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "config"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
MON_FRI = frozenset(range(5))


def load(
    name: str | Path,
    *,
    now: datetime = NOW,
    force: bool = False,
    env: Mapping[str, str] | None = None,
) -> Config:
    return load_config(name, now=now, force=force, env={} if env is None else env)


def error_cases(module: str) -> pytest.MarkDecorator:
    """Parametrise a test with ``(fixture, message)`` for each error case of ``module``."""
    cases = ERRORS[module]
    return pytest.mark.parametrize(("fixture", "message"), cases, ids=[c[0] for c in cases])


def assert_one_line(fixture: str, message: str) -> None:
    """Loading ``fixture`` fails with exactly ``message``, on one line, with exit code 2."""
    with pytest.raises(ConfigError) as caught:
        load(fixture)
    assert str(caught.value) == message
    assert caught.value.one_line() == message
    assert caught.value.exit_code == 2


# A programme with one pair and one ``defaults`` key to vary: the value syntaxes, one per config.
TEMPLATE = """\
programme:
  name: Test programme
  purpose: Juniors teach seniors.
  organizer: {{email: rm@northwind.example}}
  timezone: Europe/London
provider:
  kind: local
defaults:
  {key}: {value}
cohorts:
  - id: c1
    start: 2027-01-11
    pairs:
      - mentor: {{email: ana@northwind.example, name: Ana}}
        mentee: {{email: bob@northwind.example, name: Bob}}
        {pair_extra}
"""


def defaults_with(tmp_path: Path, key: str, value: str, pair_extra: str = "") -> Config:
    path = tmp_path / "config.yaml"
    path.write_text(TEMPLATE.format(key=key, value=value, pair_extra=pair_extra))
    return load(path)
