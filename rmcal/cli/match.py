"""``rmcal match``: pair a cohort from a people file, explain every pair, write the pairs file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from rmcal.cli.options import Options, config_option, json_option, pass_options
from rmcal.errors import ConfigError
from rmcal.tables import format_table

if TYPE_CHECKING:  # the pipeline needs the optional solver; only its types are needed here
    from rmcal.match.people import Participant
    from rmcal.match.run import MatchResult
    from rmcal.model import Cohort, Config


@click.command()
@config_option
@click.option(
    "--people",
    "people_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The people file: CSV or XLSX with the columns in docs/match.md.",
)
@click.option("--cohort", "cohort_id", required=True, metavar="ID", help="The cohort to pair.")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the pairs here instead of the file the cohort's pairs_csv names.",
)
@click.option("--dry-run", is_flag=True, help="Show the pairs; write nothing.")
@click.option("--force", is_flag=True, help="Replace an existing pairs file.")
@json_option
@pass_options
def match(
    options: Options,
    config_path: Path,
    people_path: Path,
    cohort_id: str,
    out_path: Path | None,
    dry_run: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Choose a cohort's pairs from a people file, with the reasons for each pair.

    Pairs as many people as the programme's rules (the config's matching: section) allow,
    with the highest total score, and writes them to the file the cohort's pairs_csv names,
    for `rmcal schedule` to read. The same input always gives the same pairs.
    """
    from rmcal.config import load_config
    from rmcal.match import require_solver
    from rmcal.runtime import check_cohorts
    from rmcal.store import Mode, Store

    require_solver()
    from rmcal.match.people import read_people
    from rmcal.match.run import match_people
    from rmcal.match.writing import write_pairs

    # The cohort's own pairs file is what this command writes: it may not exist yet.
    config = load_config(config_path, force=True, unread_pairs_csv=cohort_id)
    (cohort,) = check_cohorts(config, [cohort_id], named_in=config_path)
    target = _target(config_path, cohort, out_path)
    if target is not None and target.exists() and not force and not dry_run:
        raise ConfigError(
            "the pairs file already exists",
            file=_shown(target),
            hint="use --force to replace it (its pairs may already be scheduled)",
        )
    people = read_people(
        people_path,
        shown=str(people_path),
        cohort=cohort,
        programme_zone=config.programme.timezone,
    )
    series = []
    if config.state_path.exists():
        with Store.open(config.state_path, mode=Mode.READ_ONLY) as store:
            series = store.series_rows()
    result = match_people(config, cohort, people, series=series)
    written = None
    if not dry_run:
        assert target is not None
        write_pairs(result, target, shown=_shown(target), force=force)
        written = _shown(target)
    if as_json:
        click.echo(json.dumps(result_json(result, written=written), indent=2))
    else:
        click.echo(render(config, result, written=written, config_path=config_path))


COMMANDS = (match,)


def _target(config_path: Path, cohort: Cohort, out: Path | None) -> Path | None:
    if out is not None:
        return out
    if cohort.pairs_csv is None:
        name = f"pairs-{cohort.id}.csv"
        raise ConfigError(
            f"cohort {cohort.id!r} names no pairs_csv for rmcal match to write",
            file=str(config_path),
            hint=f"add 'pairs_csv: ./{name}' to the cohort, or give --out FILE",
        )
    return cohort.pairs_csv


def _shown(path: Path) -> str:
    """A path as the admin would type it: relative to here when it lies below."""
    relative = os.path.relpath(path)
    return path.as_posix() if relative.startswith("..") else relative


def _person(person: Participant) -> dict[str, Any]:
    return {
        "email": person.email,
        "name": person.name,
        "role": person.role,
        "timezone": person.timezone,
        "department": person.department,
        "row": person.line,
    }


def result_json(result: MatchResult, *, written: str | None) -> dict[str, Any]:
    """The result for scripts: every pair with its terms, every unmatched person with why."""
    weights = result.rules.weights
    return {
        "cohort": result.cohort.id,
        "people_file": result.people.file,
        "pairs_file": written,
        "dry_run": written is None,
        "exact": result.exact,
        "rules": {
            "min_overlap_hours": result.rules.min_overlap.total_seconds() / 3600,
            "management_chain": result.rules.management_chain or "all",
            "shared_language": result.rules.shared_language,
            "weights": {
                "topics": weights.topics,
                "department": weights.department,
                "generation": weights.generation,
                "overlap": weights.overlap,
            },
        },
        "pairs": [
            {
                "mentor": _person(pair.mentor),
                "mentee": _person(pair.mentee),
                "score": pair.score,
                "terms": {name: round(value, 4) for name, value in pair.terms.items()},
                "shared_topics": list(pair.topics),
                "shared_hours_per_week": pair.hours,
                "reasons": pair.why,
            }
            for pair in result.pairs
        ],
        "unmatched": [{**_person(item.person), "reason": item.reason} for item in result.unmatched],
        "total_score": round(result.total_score, 2),
        "summary": summary_line(result, written=written),
    }


def render(config: Config, result: MatchResult, *, written: str | None, config_path: Path) -> str:
    """The admin's view: one row per pair with its score and reasons, then who is left out."""
    mentors = sum(1 for p in result.people.rows if p.role == "mentor")
    mentees = sum(1 for p in result.people.rows if p.role == "mentee")
    lines = [
        f"Pairs for cohort {result.cohort.id} of {config.programme.name}, from "
        f"{result.people.file} ({mentors} mentors, {mentees} mentees)"
    ]
    if result.pairs:
        rows = [
            [f"{pair.score:.2f}", pair.mentor.name, pair.mentee.name, pair.why]
            for pair in result.pairs
        ]
        lines.append(format_table(["score", "mentor", "mentee", "why"], rows))
    if not result.exact:
        lines.append(
            "note: people with several places on both sides forced a shared place; "
            "the pairs are valid but may fall slightly short of the best total"
        )
    if result.unmatched:
        lines.append("Unmatched:")
        for item in result.unmatched:
            person = item.person
            lines.append(f"  {person.name} <{person.email}> ({person.role}): {item.reason}")
    weights = result.rules.weights
    lines.append(
        f"Score = {weights.topics:g} x topics + {weights.department:g} x department + "
        f"{weights.generation:g} x generation + {weights.overlap:g} x overlap "
        "(each term from 0 to 1; docs/match.md)"
    )
    line = summary_line(result, written=written)
    if written is not None:
        line += f" Next: rmcal schedule -c {config_path} --cohort {result.cohort.id} --dry-run"
    lines.append(line)
    return "\n".join(lines)


def summary_line(result: MatchResult, *, written: str | None) -> str:
    count = len(result.unmatched)
    people = "1 person" if count == 1 else f"{count} people"
    text = f"{len(result.pairs)} pairs, total score {result.total_score:.2f}; {people} unmatched."
    if written is None:
        return text + " Dry run: nothing written."
    return text + f" Wrote {written}."
