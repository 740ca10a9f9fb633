"""Templates are sandboxed, strict and escaped; a programme's own folder overrides built-ins."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from jinja2.exceptions import SecurityError

from rmcal import templating
from rmcal.errors import ConfigError
from rmcal.templating import TemplateEngine, duration_text, localtime
from tests.deadline import deadline


def test_html_is_escaped_and_text_is_not(tmp_path: Path):
    (tmp_path / "hello.html.j2").write_text("<p>{{ name }}</p>")
    (tmp_path / "hello.txt.j2").write_text("{{ name }}")
    html, text = TemplateEngine(tmp_path).render("hello", {"name": "<script>x</script> & co"})
    assert html == "<p>&lt;script&gt;x&lt;/script&gt; &amp; co</p>"
    assert text == "<script>x</script> & co"


def test_the_sandbox_blocks_python_internals(tmp_path: Path):
    (tmp_path / "evil.txt.j2").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(SecurityError):
        TemplateEngine(tmp_path).env.get_template("evil.txt.j2").render()


def test_a_missing_variable_is_a_config_error_naming_the_file_and_line(tmp_path: Path):
    (tmp_path / "invite.title.j2").write_text("Session\n{{ mentor.nmae }}\n")
    with pytest.raises(ConfigError) as error:
        TemplateEngine(tmp_path).render_one("invite.title.j2", {"mentor": {"name": "Ana"}})
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'invite.title.j2'}:2: template invite.title.j2")
    assert "nmae" in message


def test_overrides_win_and_builtins_fill_the_rest(tmp_path: Path):
    (tmp_path / "invite.title.j2").write_text("Custom {{ mentor.name }}")
    engine = TemplateEngine(tmp_path)
    assert engine.render_one("invite.title.j2", {"mentor": {"name": "Ana"}}) == "Custom Ana"
    assert {"invite", "agenda", "feedback", "nudge", "digest"} <= set(engine.names())


def test_filters_show_times_in_the_readers_zone():
    moment = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)
    assert localtime(moment, "Asia/Kolkata", "%H:%M") == "14:30 IST"
    assert localtime(moment, "Asia/Singapore", "%H:%M") == "17:00 UTC+08"
    assert duration_text(timedelta(minutes=45)) == "45 min"
    assert duration_text(timedelta(minutes=90)) == "1 h 30 min"


# -- a programme's own templates are input too: every failure one line, every render bounded ------


def override(tmp_path: Path, text: str, name: str = "invite.title.j2") -> TemplateEngine:
    (tmp_path / name).write_text(text)
    return TemplateEngine(tmp_path)


def render_error(engine: TemplateEngine, name: str = "invite.title.j2") -> str:
    with pytest.raises(ConfigError) as caught:
        engine.render_one(name, {"mentor": {"name": "Ana"}})
    assert caught.value.exit_code == 2
    return str(caught.value)


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("a\n{{ 1 / 0 }}\n", 2, "ZeroDivisionError: division by zero"),
        ("a\n\n{{ [].pop() }}\n", 3, "IndexError: pop from empty list"),
        ("{{ 1 + 'b' }}\n", 1, "TypeError: unsupported operand type(s) for +: 'int' and 'str'"),
        (
            "{% macro f() %}{{ f() }}{% endmacro %}\n{{ f() }}\n",
            1,
            "RecursionError: maximum recursion depth exceeded",
        ),
        ("a\n{% include 'nowhere.j2' %}\n", 2, "no template named 'nowhere.j2'"),
    ],
    ids=["zero-division", "index", "type", "recursion", "missing-include"],
)
def test_any_error_in_a_template_is_one_line_with_its_file_and_line(
    tmp_path: Path, text: str, line: int, problem: str
) -> None:
    assert render_error(override(tmp_path, text)) == (
        f"{tmp_path / 'invite.title.j2'}:{line}: template invite.title.j2 cannot be rendered: "
        f"{problem}; fix the template or remove the override to use the built-in one"
    )


def test_an_error_in_an_included_template_names_that_template(tmp_path: Path) -> None:
    (tmp_path / "part.j2").write_text("fine\n{{ nope }}\n")
    message = render_error(override(tmp_path, "{% include 'part.j2' %}\n"))
    assert message.startswith(f"{tmp_path / 'part.j2'}:2: template invite.title.j2 cannot")
    assert "'nope' is undefined" in message


def test_a_syntax_error_names_the_line(tmp_path: Path) -> None:
    assert render_error(override(tmp_path, "ok\n{% if %}\n")) == (
        f"{tmp_path / 'invite.title.j2'}:2: template invite.title.j2 cannot be read: "
        "Expected an expression, got 'end of statement block'; "
        "fix the template or remove the override to use the built-in one"
    )


def test_an_endless_loop_stops_at_the_deadline_with_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten billion empty iterations: no output to count, no range() over the sandbox's cap."""
    monkeypatch.setattr(templating, "RENDER_SECONDS", 0.3)
    loop = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    assert render_error(override(tmp_path, f"a\n{loop}\n")) == (
        f"{tmp_path / 'invite.title.j2'}:2: template invite.title.j2 cannot be rendered: "
        "it ran for more than 0.3 s (an endless loop?); "
        "fix the template or remove the override to use the built-in one"
    )


def test_a_render_stuck_in_one_c_call_is_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A huge power is one C call: the child's alarm cannot interrupt it, the parent kills it."""
    monkeypatch.setattr(templating, "RENDER_SECONDS", 0.3)
    assert render_error(override(tmp_path, "{{ 7 ** (10 ** 9) }}\n")) == (
        f"{tmp_path / 'invite.title.j2'}: template invite.title.j2 did not finish rendering "
        "within 0.3 s (an endless loop?); "
        "fix the template or remove the override to use the built-in one"
    )


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="memory ceiling needs /proc")
def test_a_template_that_allocates_gigabytes_hits_the_memory_ceiling(tmp_path: Path) -> None:
    message = render_error(override(tmp_path, "a\n{{ 'x' * 10 ** 10 }}\n"))
    assert message.startswith(f"{tmp_path / 'invite.title.j2'}:2: template invite.title.j2 cannot")
    assert "it needs more than 1024 MB of memory" in message


def test_output_over_the_cap_is_refused_in_process_too(tmp_path: Path) -> None:
    """Without fork (Windows) only the output cap applies; it is the same check."""
    engine = override(tmp_path, "{% for i in range(100000) %}{{ 'y' * 20 }}{% endfor %}")
    engine.isolate = False
    assert render_error(engine) == (
        f"{tmp_path / 'invite.title.j2'}: template invite.title.j2 renders more than 1 MB; "
        "fix the template or remove the override to use the built-in one"
    )


def test_an_override_is_never_compiled_in_rmcals_own_process(tmp_path: Path) -> None:
    """Jinja runs constant expressions and filters while compiling (``{{ 'x' * 10**10 }}``
    would allocate 10 GB there); a filter that reports its process shows where that happened."""
    engine = override(tmp_path, "{{ 0 | where }}")
    engine.env.filters["where"] = lambda _: os.getpid()
    assert engine.render_one("invite.title.j2", {}) != str(os.getpid())


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_an_override_that_is_a_fifo_is_an_error_not_a_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "invite.title.j2")
    with deadline():
        problem = render_error(TemplateEngine(tmp_path))
    assert problem == (
        f"{tmp_path / 'invite.title.j2'}: the template is a FIFO (named pipe), not a regular file"
    )


def test_an_override_over_the_size_cap_is_refused(tmp_path: Path) -> None:
    engine = override(tmp_path, "x" * (256 * 1024 + 1))
    assert render_error(engine) == (
        f"{tmp_path / 'invite.title.j2'}: the template is 262,145 bytes, more than the 256 KB "
        "limit; "
        "see 'Input limits' in the README"
    )


@pytest.mark.parametrize("overrides", [None, "agenda.txt.j2"])
def test_a_built_in_template_has_no_output_cap(
    tmp_path: Path, overrides: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lead's digest lists every pair: at 1,000 pairs the built-in one renders more than the
    1 MB cap meant for a programme's own templates, and must still go out."""
    monkeypatch.setattr(templating, "RENDER_BYTES", 10)
    folder = None
    if overrides is not None:
        folder = tmp_path
        (tmp_path / overrides).write_text("mine")
    people = {"mentor": {"name": "Ana Silva"}, "mentee": {"name": "Raj Patel"}}
    title = TemplateEngine(folder).render_one("invite.title.j2", people).strip()
    assert title == "Reverse mentoring: Ana Silva & Raj Patel"


def test_a_built_in_template_that_extends_an_overridden_layout_is_not_trusted(
    tmp_path: Path,
) -> None:
    (tmp_path / "_layout.html.j2").write_text("{% block body %}{% endblock %}")
    assert not TemplateEngine(tmp_path)._trusted("digest.html.j2")
    assert TemplateEngine()._trusted("digest.html.j2")
