"""Packaging: a local-only install is small, and a provider whose extra is missing says how to
install it, in one line. The cloud providers' client libraries are extras of the ``rmcal``
distribution (``pip install 'rmcal[microsoft]'``, ``'rmcal[google]'``, ``'rmcal[all]'``)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from rmcal.errors import RmcalError
from rmcal.provider import load_provider_factory

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
CLOUD = (
    "msal",
    "requests",
    "urllib3",
    "google",
    "googleapiclient",
    "google_auth_httplib2",
    "google_auth_oauthlib",
    "httplib2",
)
GOOGLE_ONLY = (
    "google",
    "googleapiclient",
    "google_auth_httplib2",
    "google_auth_oauthlib",
    "httplib2",
)


def _names(requirements: list[str]) -> set[str]:
    return {r.split(">")[0].split("=")[0].split("[")[0].strip().lower() for r in requirements}


def test_the_core_install_carries_no_cloud_client_library() -> None:
    core = _names(PYPROJECT["dependencies"])
    assert core == {"click", "jinja2", "icalendar", "python-dateutil", "pyyaml", "tzdata"}
    assert "icalendar>=6.1,<8" in PYPROJECT["dependencies"]


def test_each_provider_has_its_extra_and_all_and_test_install_everything() -> None:
    extras = PYPROJECT["optional-dependencies"]
    assert _names(extras["microsoft"]) == {"msal", "requests", "urllib3"}
    assert _names(extras["google"]) == {
        "google-api-python-client",
        "google-auth",
        "google-auth-httplib2",
        "google-auth-oauthlib",
        "httplib2",
        "requests",
        "urllib3",
    }
    # Every client library is pinned below its next untested release line (issue 10).
    for requirement in extras["microsoft"] + extras["google"]:
        assert ",<" in requirement, requirement
    assert extras["all"] == ["rmcal[microsoft,google,match]"]
    # The README's test command installs '.[test]': it must bring every provider along.
    assert "rmcal[all]" in extras["test"]


BLOCKER = """
import sys
from importlib.abc import MetaPathFinder

class NotInstalled(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
from rmcal.cli import main
main({argv!r})
"""


def run_without_cloud_libraries(
    argv: list[str], cwd: Path, blocked: tuple[str, ...] = CLOUD
) -> subprocess.CompletedProcess[str]:
    """``rmcal ARGV`` in a process where the cloud client libraries cannot be imported, as in
    a plain ``pip install rmcal`` (or only those in ``blocked``)."""
    code = BLOCKER.format(blocked=set(blocked), argv=argv)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_the_readme_first_command_needs_no_cloud_library(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text((ROOT / "config.example.yaml").read_text())
    run = run_without_cloud_libraries(["schedule", "-c", str(config)], tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == "12 pairs: 12 created."


MICROSOFT = """\
programme:
  name: Check
  purpose: Juniors teach seniors.
  organizer: {email: rm@contoso.com}
  timezone: Europe/London
provider:
  kind: microsoft
  tenant_id: 00000000-0000-0000-0000-000000000001
  client_id: 00000000-0000-0000-0000-000000000002
  client_secret_env: GRAPH_SECRET
cohorts:
  - id: c1
    start: next Monday
    pairs:
      - mentor: {email: ana@contoso.com, name: Ana}
        mentee: {email: ben@contoso.com, name: Ben}
"""


def test_a_missing_provider_extra_is_one_line_with_the_install_command(tmp_path: Path) -> None:
    config = tmp_path / "rmcal.yaml"
    config.write_text(MICROSOFT)
    run = run_without_cloud_libraries(["auth", "check", "-c", str(config)], tmp_path)
    assert run.returncode == 1
    assert run.stdout == ""
    assert run.stderr == (
        "rmcal: error: provider microsoft needs msal, which is not installed: "
        "pip install 'rmcal[microsoft]'\n"
    )
    head, tail = MICROSOFT.split("  tenant_id")
    google = head.replace("kind: microsoft", "kind: google") + "  service_account_file: sa.json\n"
    config.write_text(google + tail.split("client_secret_env: GRAPH_SECRET\n")[1])
    run = run_without_cloud_libraries(["schedule", "--dry-run", "-c", str(config)], tmp_path)
    assert run.returncode == 1
    assert run.stderr.startswith("rmcal: error: provider google needs google")
    assert run.stderr.endswith(": pip install 'rmcal[google]'\n")
    assert len(run.stderr.splitlines()) == 1


def test_the_microsoft_extra_alone_is_enough_for_microsoft(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``rmcal[microsoft]`` without ``rmcal[google]``: the shared "did it reach the server?"
    check must not need httplib2 or google-auth (only Google's calls can raise their errors)."""
    monkeypatch.setenv("GRAPH_SECRET", "not-a-real-secret")
    config = tmp_path / "rmcal.yaml"
    config.write_text(MICROSOFT)
    run = run_without_cloud_libraries(["validate", "-c", str(config)], tmp_path, GOOGLE_ONLY)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"{config}: OK: 1 pair in 1 cohort, provider microsoft")
    probe = (
        BLOCKER.split("from rmcal.cli")[0].format(blocked=set(GOOGLE_ONLY))
        + "import requests\n"
        + "from rmcal_providers.outcome import never_sent\n"
        + "import rmcal_providers.microsoft\n"
        + "print(never_sent(requests.ConnectTimeout()), never_sent(TimeoutError()))\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "True False\n"


def test_the_factory_lookup_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m.startswith("rmcal_providers.microsoft")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "msal", None)  # "import msal" now fails
    with pytest.raises(RmcalError) as caught:
        load_provider_factory("microsoft")
    assert caught.value.one_line() == (
        "provider microsoft needs msal, which is not installed: pip install 'rmcal[microsoft]'"
    )
