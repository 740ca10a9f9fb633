"""``rmcal auth check`` and ``rmcal auth login``: credentials and permissions, before a cohort."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from rmcal.cli.options import (
    Options,
    config_option,
    json_option,
    load_running,
    now_option,
    pass_options,
)
from rmcal.errors import ConfigError, PermissionDenied
from rmcal.tables import plural

# Both commands may write the provider's token cache into the state file, so they wait for a
# running tick to finish instead of failing at once.
LOCK_WAIT = 30.0


@click.group()
def auth() -> None:
    """Check or set up the provider's credentials."""


@auth.command("check")
@config_option
@now_option
@json_option
@pass_options
def check(options: Options, config_path: Path, now: datetime, as_json: bool) -> None:
    """Verify credentials and every permission rmcal needs; name what is missing."""
    from rmcal.runtime import clock_from, session
    from rmcal.store import Mode

    config = load_running(config_path, now)
    with session(config, mode=Mode.LOCKED, wait=LOCK_WAIT, clock=clock_from(now)) as run:
        provider = run.provider
        checks = provider.check()
    if as_json:
        click.echo(json.dumps([c.__dict__ for c in checks], indent=2))
    else:
        for item in checks:
            mark = "FAIL" if not item.ok else ("warn" if item.warn else "ok  ")
            line = f"{mark} {item.name}"
            if item.detail:
                line += f": {item.detail}"
            click.echo(line)
            if item.remedy and (not item.ok or item.warn):
                click.echo(f"     {'fix' if not item.ok else 'check'}: {item.remedy}")
    failed = [c.name for c in checks if not c.ok]
    if failed:
        raise PermissionDenied(
            provider.name,
            "auth check",
            f"{plural(len(failed), 'check')} failed: {', '.join(failed)}",
            remedy="see the fixes listed above",
        )
    if not as_json:
        warned = sum(c.warn for c in checks)
        tail = f" ({warned} to confirm, see 'check:' above)" if warned else ""
        click.echo(f"All {len(checks)} checks passed for provider {provider.name}{tail}.")


@auth.command("login")
@config_option
@click.option("--provider", "kind", help="Must match provider.kind in the config (a safety check).")
@pass_options
def login(options: Options, config_path: Path, kind: str | None) -> None:
    """Sign the organizer in interactively (trials without admin consent)."""
    from rmcal.provider import InteractiveLogin
    from rmcal.runtime import session
    from rmcal.store import Mode

    config = load_running(config_path)
    if kind and kind != config.provider.kind:
        raise ConfigError(
            f"--provider {kind} does not match provider.kind {config.provider.kind!r}",
            file=str(config_path),
            key="provider.kind",
            hint="edit the config or drop --provider",
        )
    with session(config, mode=Mode.LOCKED, wait=LOCK_WAIT, echo=click.echo) as run:
        provider = run.provider
        if not isinstance(provider, InteractiveLogin):
            raise ConfigError(
                f"provider {provider.name} has no interactive login",
                file=str(config_path),
                key="provider.auth",
                hint="it uses the credentials named in its settings",
            )
        who = provider.login()
    click.echo(f"Signed in as {who}; the token is stored next to the state file.")


COMMANDS = (auth,)
