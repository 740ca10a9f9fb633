"""How much a cohort costs: wall time and HTTP round trips of ``rmcal schedule`` per provider.

A cohort's cost is API round trips, so that is what this measures, next to wall time: a first
``schedule`` (free/busy for everyone over the whole horizon, then batched creates), and a re-run
that must change nothing. Cloud providers run against the local HTTPS fakes in ``tests/fakes``
(loopback only), through the real CLI, MSAL/google-auth, requests/httplib2 and TLS; the fakes
count every HTTP exchange they answer (a ``$batch`` or multipart batch counts once).

    python -m bench.run                       # local, microsoft, google at 12, 50 and 200 pairs
    python -m bench.run --sizes 20 --providers microsoft --out bench/results/mine.json

Speed is measured here, never asserted by a timed test.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from rmcal.cli import main
from tests.cohort20 import NOW, write_config

Counter = Callable[[], int]


@contextmanager
def local_provider(folder: Path) -> Iterator[tuple[dict[str, Any], dict[str, str], Counter]]:
    yield {"kind": "local", "folder": str(folder / "local")}, {}, lambda: 0


@contextmanager
def microsoft_provider(folder: Path) -> Iterator[tuple[dict[str, Any], dict[str, str], Counter]]:
    from tests.fakes.graph_server import GraphServer

    with GraphServer(directory=folder / "tls") as server:
        fake = server.graph
        count = [0]
        handle = fake.handle

        def counting(
            method: str, url: str, headers: dict[str, str], body: bytes, *, inner: bool = False
        ) -> Any:
            if not inner:
                count[0] += 1
            return handle(method, url, headers, body, inner=inner)

        fake.handle = counting  # type: ignore[method-assign]
        yield (
            {"kind": "microsoft", **server.settings()},
            {"RMCAL_FAKE_SECRET": "fake"},
            lambda: count[0] + fake.token_requests,
        )


PROVIDERS = {"local": local_provider, "microsoft": microsoft_provider}
try:  # the Google fake server is optional for the harness
    from bench.google_setup import google_provider

    PROVIDERS["google"] = google_provider
except ImportError:  # pragma: no cover
    pass


def measure(provider: str, pairs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="rmcal-bench-") as scratch:
        folder = Path(scratch)
        with PROVIDERS[provider](folder) as (settings, env, round_trips):
            config = str(write_config(folder, settings, pairs=pairs))
            runner = CliRunner(env=env)
            row: dict[str, Any] = {"provider": provider, "pairs": pairs}
            for label in ("first", "rerun"):
                before = round_trips()
                started = time.perf_counter()
                result = runner.invoke(main, ["schedule", "-c", config, "--now", NOW])
                elapsed = time.perf_counter() - started
                if result.exit_code != 0:
                    raise SystemExit(f"{provider} {pairs} {label}: {result.output}")
                row[f"{label}_seconds"] = round(elapsed, 3)
                row[f"{label}_round_trips"] = round_trips() - before
                row[f"{label}_summary"] = result.output.splitlines()[-1]
            return row


def main_cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--providers", default=",".join(PROVIDERS))
    parser.add_argument("--sizes", default="12,50,200")
    parser.add_argument("--out", type=Path, default=Path("bench/results/latest.json"))
    args = parser.parse_args(argv)
    rows = []
    for provider in args.providers.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            row = measure(provider, size)
            rows.append(row)
            print(
                f"{provider:10} {size:4} pairs  first {row['first_seconds']:7.2f} s "
                f"{row['first_round_trips']:5} round trips   rerun {row['rerun_seconds']:6.2f} s "
                f"{row['rerun_round_trips']:5} round trips",
                flush=True,
            )
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main_cli()
