"""Jinja2 templates, sandboxed: a programme's own templates can override any built-in one.

Why sandboxed and strict: templates come from admins' folders, so they must not reach Python
internals (``SandboxedEnvironment``), a typo must fail at ``rmcal validate`` rather than send an
e-mail with a blank (``StrictUndefined``), and names and free text from the config must never
become markup in the HTML part (autoescape on ``.html.j2``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from rmcal.errors import ConfigError

BUILTIN_DIR = Path(str(files("rmcal_templates")))


def localtime(moment: datetime, zone: str, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    """A moment as the recipient reads it: in their zone, with the zone's abbreviation."""
    local = moment.astimezone(ZoneInfo(zone))
    name = local.tzname() or ""
    label = name if any(c.isalpha() for c in name) else f"UTC{name}"
    return f"{local.strftime(fmt)} {label}"


def localdate(moment: datetime, zone: str, fmt: str = "%a %d %b") -> str:
    """A day as the recipient reads it (``Mon 25 Jan``): no clock time, so no zone label."""
    return moment.astimezone(ZoneInfo(zone)).strftime(fmt)


def duration_text(value: timedelta) -> str:
    minutes = int(value.total_seconds() // 60)
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"


def _template_line(exc: BaseException, path: str) -> int | None:
    """The template line a render error happened on (Jinja maps its frames to the template)."""
    line = None
    trace = exc.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == path:
            line = trace.tb_lineno
        trace = trace.tb_next
    return line


class TemplateEngine:
    """Renders ``<name>.html.j2`` and ``<name>.txt.j2`` pairs; overrides win over built-ins."""

    def __init__(self, override_dir: Path | None = None) -> None:
        loaders = []
        if override_dir is not None:
            loaders.append(FileSystemLoader(str(override_dir)))
        loaders.append(FileSystemLoader(str(BUILTIN_DIR)))
        self.override_dir = override_dir
        self.env = SandboxedEnvironment(
            loader=ChoiceLoader(loaders),
            undefined=StrictUndefined,
            autoescape=lambda name: bool(name and name.endswith(".html.j2")),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.env.filters["localtime"] = localtime
        self.env.filters["localdate"] = localdate
        self.env.filters["duration"] = duration_text

    def render_one(self, filename: str, context: Mapping[str, Any]) -> str:
        try:
            return self.env.get_template(filename).render(**context)
        except TemplateError as exc:
            where = self._where(filename)
            line = getattr(exc, "lineno", None) or _template_line(exc, where)
            raise ConfigError(
                f"template {filename} cannot be rendered: {exc.message or exc}",
                file=where,
                line=line,
                hint="fix the template or remove the override to use the built-in one",
            ) from exc

    def render(self, name: str, context: Mapping[str, Any]) -> tuple[str, str]:
        """(html, text) for a template pair."""
        return (
            self.render_one(f"{name}.html.j2", context),
            self.render_one(f"{name}.txt.j2", context),
        )

    def _where(self, filename: str) -> str:
        if self.override_dir is not None and (self.override_dir / filename).exists():
            return str(self.override_dir / filename)
        return str(BUILTIN_DIR / filename)

    def names(self) -> list[str]:
        """Every template pair available (built-in and overrides); files whose name starts with
        ``_`` are parts other templates extend (``_layout.html.j2``), not messages."""
        files = list(BUILTIN_DIR.glob("*.html.j2"))
        if self.override_dir is not None and self.override_dir.is_dir():
            files += self.override_dir.glob("*.html.j2")
        return sorted(
            {p.name.removesuffix(".html.j2") for p in files if not p.name.startswith("_")}
        )
