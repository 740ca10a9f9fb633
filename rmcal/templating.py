"""Jinja2 templates, sandboxed: a programme's own templates can override any built-in one.

Why sandboxed and strict: templates come from admins' folders, so they must not reach Python
internals (``SandboxedEnvironment``), a typo must fail at ``rmcal validate`` rather than send an
e-mail with a blank (``StrictUndefined``), and names and free text from the config must never
become markup in the HTML part (autoescape on ``.html.j2``).

Why overrides render in a worker process: the sandbox guards Python's internals, not time or
memory. ``{% for i in range(99999) %}{% for j in range(99999) %}`` loops for hours without
writing a byte, and ``{{ "x" * 10**9 }}`` is one C call that no in-process check can interrupt.
So a programme's own template renders in a forked child under a deadline (``RENDER_SECONDS``),
a memory ceiling and an output cap (``RENDER_BYTES``); an alarm inside the child turns a Python
loop into an error that still names the template line, and a child stuck in C is killed.
Forking costs a few milliseconds per render and needs no pickling (the child inherits the
context). Built-in templates, which are trusted and have no unbounded loops, render in-process;
so does everything on a platform without ``fork`` (Windows), where only the output cap applies.
Whichever way, any exception becomes one ``ConfigError`` naming the template file and line.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import partial
from importlib.resources import files
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateNotFound,
)
from jinja2.loaders import split_template_path
from jinja2.sandbox import SandboxedEnvironment

from rmcal.config.files import TEMPLATE_LIMIT, decode_text, read_source
from rmcal.errors import ConfigError

BUILTIN_DIR = Path(str(files("rmcal_templates")))
RENDER_SECONDS = 2.0  # a real template renders in milliseconds
RENDER_BYTES = 1024 * 1024  # one rendered template; a mail body is a few kilobytes
RENDER_MEMORY = 1024 * 1024 * 1024  # what a rendering child may allocate on top of its parent
_KILL_GRACE = 1.0  # after the child's own alarm, before the parent kills it
HINT = "fix the template or remove the override to use the built-in one"


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


def _template_frame(exc: BaseException) -> tuple[str, int] | None:
    """The template file and line an error happened on: the innermost frame that is a template
    (Jinja maps the frames of compiled templates to their source), so an error inside an
    included template names that template."""
    found = None
    trace = exc.__traceback__
    while trace is not None:
        name = trace.tb_frame.f_code.co_filename
        if name.endswith(".j2"):
            found = (name, trace.tb_lineno)
        trace = trace.tb_next
    return found


class _SafeLoader(FileSystemLoader):
    """A FileSystemLoader that reads through ``rmcal.config.files``: a template that is a FIFO,
    a device or over ``TEMPLATE_LIMIT`` is an error, not a hang or a silent fallback."""

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        pieces = split_template_path(template)
        for folder in self.searchpath:
            filename = os.path.normpath(os.path.join(folder, *pieces))
            if not os.path.exists(filename):
                continue
            data = read_source(filename, shown=filename, limit=TEMPLATE_LIMIT, what="the template")
            text = decode_text(data, shown=filename)
            return text, filename, partial(_unchanged, filename, os.path.getmtime(filename))
        raise TemplateNotFound(template)


def _unchanged(filename: str, mtime: float) -> bool:
    try:
        return os.path.getmtime(filename) == mtime
    except OSError:
        return False


class _OutOfTime(Exception):
    """Raised inside a rendering child by its alarm: the template ran past its deadline."""


class TemplateEngine:
    """Renders ``<name>.html.j2`` and ``<name>.txt.j2`` pairs; overrides win over built-ins."""

    def __init__(self, override_dir: Path | None = None) -> None:
        loaders = []
        if override_dir is not None:
            loaders.append(_SafeLoader(str(override_dir)))
        loaders.append(_SafeLoader(str(BUILTIN_DIR)))
        self.override_dir = override_dir
        self.isolate = override_dir is not None and hasattr(os, "fork")
        self._trust: dict[str, bool] = {}  # ``_trusted`` per file, asked once per engine
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
        """One template rendered with ``context``; any failure is one ``ConfigError``."""
        if self._trusted(filename):
            return self._render_here(filename, context, limit=None)
        if self.isolate:
            return self._render_isolated(filename, context)
        return self._render_here(filename, context, limit=RENDER_BYTES)

    def _trusted(self, filename: str) -> bool:
        """Whether ``filename`` renders built-in code only: neither it nor any part it may
        extend or include (``_layout.html.j2``) is overridden.

        Built-in templates have no unbounded loops, and their output grows with the programme
        (a lead's digest lists every pair), so no deadline or output cap applies to them.
        """
        if self.override_dir is None:
            return True
        if filename not in self._trust:  # tick renders thousands of mails: look once
            overridden = (self.override_dir / filename).exists()
            self._trust[filename] = not overridden and not any(self.override_dir.glob("_*"))
        return self._trust[filename]

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

    # -- loading and rendering ------------------------------------------------------------------

    def _template(self, filename: str) -> Template:
        """The compiled template (cached by Jinja); syntax errors name their file and line."""
        try:
            return self.env.get_template(filename)
        except ConfigError:
            raise
        except Exception as exc:  # a TemplateSyntaxError, or a RecursionError on deep nesting
            self._fail(filename, exc, "cannot be read")

    def _render_here(self, filename: str, context: Mapping[str, Any], limit: int | None) -> str:
        """Compile and render in this process, stopping once the output passes ``limit``.

        Compiling runs template code too (Jinja folds constant expressions and filters at
        compile time: ``{{ "x" * 10**10 }}`` allocates 10 GB while compiling), which is why an
        override is compiled in the rendering child as well, never in this process.
        """
        template = self._template(filename)
        chunks: list[str] = []
        size = 0
        try:
            for chunk in template.generate(**context):
                chunks.append(chunk)
                size += len(chunk)
                if limit is not None and size > limit:
                    raise ConfigError(
                        f"template {filename} renders more than {_megabytes(limit)}",
                        file=self._where(filename),
                        hint=HINT,
                    )
        except ConfigError:
            raise
        except Exception as exc:  # every error a template can raise, Jinja's or Python's
            self._fail(filename, exc, "cannot be rendered")
        return "".join(chunks)

    def _fail(self, filename: str, exc: Exception, what: str) -> NoReturn:
        file, line = _template_frame(exc) or (self._where(filename), None)
        if isinstance(exc, TemplateError) and getattr(exc, "lineno", None):
            file, line = getattr(exc, "filename", None) or file, exc.lineno  # type: ignore[attr-defined]
        raise ConfigError(
            f"template {filename} {what}: {_describe(exc)}", file=file, line=line, hint=HINT
        ) from exc

    def _render_isolated(self, filename: str, context: Mapping[str, Any]) -> str:
        """Compile and render in a forked child under a deadline and a memory ceiling."""
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child; its outcome is asserted through the parent
            _child(
                write_end,
                read_end,
                lambda: self._render_here(filename, context, limit=RENDER_BYTES),
            )
        os.close(write_end)
        try:
            data = _read_until(read_end, time.monotonic() + RENDER_SECONDS + _KILL_GRACE)
        finally:
            os.close(read_end)
            status = _reap(pid, kill=True)
        if data is None:
            raise ConfigError(
                f"template {filename} did not finish rendering within {RENDER_SECONDS:g} s "
                "(an endless loop?)",
                file=self._where(filename),
                hint=HINT,
            )
        if not data:
            raise ConfigError(
                f"template {filename} stopped the renderer ({status})",
                file=self._where(filename),
                hint=HINT,
            )
        outcome = json.loads(data)
        if "error" in outcome:
            raise ConfigError(**outcome["error"])
        return str(outcome["text"])


def _describe(exc: BaseException) -> str:
    """An exception in words: Jinja's own message, else the Python error and its text."""
    if isinstance(exc, TemplateNotFound):
        return f"no template named {exc.name!r}"
    if isinstance(exc, TemplateError):
        return str(exc.message or exc)
    if isinstance(exc, MemoryError):
        return f"it needs more than {_megabytes(RENDER_MEMORY)} of memory"
    if isinstance(exc, _OutOfTime):
        return str(exc)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _megabytes(count: int) -> str:
    return f"{count // (1024 * 1024)} MB"


def _child(write_end: int, read_end: int, render: Callable[[], str]) -> NoReturn:
    """The rendering child: arm the alarm and the memory ceiling, render, report, leave.

    ``os._exit`` skips every cleanup the parent registered (atexit, open files, SQLite), which
    belongs to the parent alone.
    """
    code = 1
    try:
        os.close(read_end)
        _limit_memory()

        def alarm(signum: int, frame: FrameType | None) -> None:
            raise _OutOfTime(f"it ran for more than {RENDER_SECONDS:g} s (an endless loop?)")

        signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, RENDER_SECONDS)
        try:
            outcome: dict[str, Any] = {"text": render()}
        except ConfigError as exc:
            fields = ("message", "file", "line", "key", "hint")
            outcome = {"error": {name: getattr(exc, name) for name in fields}}
        signal.setitimer(signal.ITIMER_REAL, 0)
        data = json.dumps(outcome).encode()
        while data:
            data = data[os.write(write_end, data) :]
        code = 0
    finally:
        os._exit(code)


def _limit_memory() -> None:
    """Cap the child's address space at its current size plus ``RENDER_MEMORY`` (Linux)."""
    try:
        import resource

        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[0])
        limit = pages * os.sysconf("SC_PAGE_SIZE") + RENDER_MEMORY
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard == resource.RLIM_INFINITY or limit < hard:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, OSError, ValueError):
        pass  # no /proc or no RLIMIT_AS: the deadline and the output cap still apply


def _read_until(fd: int, deadline: float) -> bytes | None:
    """Everything the child writes until it closes the pipe; None if the deadline passes."""
    chunks: list[bytes] = []
    limit = 6 * RENDER_BYTES + 65536  # JSON may spell a character as \\uXXXX
    total = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            return None
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            return None


def _reap(pid: int, *, kill: bool) -> str:
    """Wait for the child (killing it first when asked); how it ended, in words."""
    if kill:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit status {os.WEXITSTATUS(status)}"
