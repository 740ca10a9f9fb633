"""A series update whose answer is lost mails the pair one "Updated" invitation, not two.

Found by the crash harness under faults (tests/crash/): every patch Google carries out with
``sendUpdates=all`` mails the attendees, and a batch of patches whose connection dropped after
Google applied it was sent again twice over: by httplib2 itself (it re-sends a request once when
the connection closes before the answer) and by rmcal's own retry of the batch. Through the
real CLI, client libraries and TLS against the fake Google; only the far end is fake.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml
from rmcal_providers.google.settings import default_scopes

from tests.cohort20 import NOW, write_config
from tests.fakes.faults import Fault, FaultPlan
from tests.fakes.google_server import FakeGoogle, start, write_service_account
from tests.google.conftest import WORKSPACE_SA_EMAIL
from tests.google.helpers import DOMAIN, run


@pytest.mark.parametrize("kind", ["drop", "500", "stall"])
def test_a_patch_batch_carried_out_without_an_answer_is_not_sent_again(
    tmp_path: Path, kind: str
) -> None:
    fake = FakeGoogle(users=[f"rm@{DOMAIN}", f"lead@{DOMAIN}"])
    for number in range(2):
        fake.add_user(f"mentor{number}@{DOMAIN}")
        fake.add_user(f"mentee{number}@{DOMAIN}")
    public = write_service_account(tmp_path / "sa.json", WORKSPACE_SA_EMAIL)
    fake.add_service_account(WORKSPACE_SA_EMAIL, public, default_scopes(False))
    plan = FaultPlan(rate=0.0)
    running = start(fake, tmp_path / "tls", faults=plan)
    try:
        settings = {
            "kind": "google",
            "service_account_file": "sa.json",
            **running.settings(),
            "timeout": 0.5,  # under the fake's one-second stall
        }
        config = write_config(tmp_path, settings, domain=DOMAIN, pairs=2)
        assert run("schedule", "-c", str(config), "--now", NOW)[0] == 0
        data = yaml.safe_load(config.read_text())
        data["defaults"]["duration"] = "1h"
        config.write_text(yaml.safe_dump(data, sort_keys=False))

        plan.script.append(("POST", "/batch/", Fault(kind, applied=True)))
        code, out = run("schedule", "-c", str(config), "--now", NOW)
        assert code == 3 and out.count("failed: ") == 2, out  # left for the next run to judge
        code, out = run("schedule", "-c", str(config), "--now", NOW)
        assert code == 0 and "Nothing changed" in out, out
    finally:
        running.stop()
    patches = Counter(event for method, event, _ in fake.notifications if method == "patch")
    assert sorted(patches.values()) == [1, 1]  # one "Updated" invitation per pair
