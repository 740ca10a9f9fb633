"""Templates are sandboxed, strict and escaped; a programme's own folder overrides built-ins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from jinja2.exceptions import SecurityError

from rmcal.errors import ConfigError
from rmcal.templating import TemplateEngine, duration_text, localtime


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
