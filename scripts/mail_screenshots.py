"""Screenshots of rmcal's HTML mails as a phone and a desktop show them, light and dark.

Runs ``rmcal demo`` in a scratch folder (a whole simulated cohort), takes the leads' digest
preview and one agenda, feedback and nudge e-mail from its outbox, and photographs each with
headless Chromium at 1200 px and 390 px wide, with the page's colour scheme light and dark
(``--force-dark-mode`` makes ``prefers-color-scheme: dark`` match, as Apple Mail does in dark
mode). Look at the PNGs: every column of the digest must show at 390 px.

    apt-get install -y chromium            # once
    .venv/bin/python scripts/mail_screenshots.py [--out DIR] [--chromium PATH]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as DEFAULT_POLICY
from pathlib import Path

WIDTHS = (1200, 390)
SCHEMES = ("light", "dark")
KINDS = ("agenda", "feedback", "nudge")


def demo(folder: Path) -> None:
    rmcal = Path(sys.executable).with_name("rmcal")
    subprocess.run([str(rmcal), "demo", "--dir", str(folder)], check=True, capture_output=True)


def mails(folder: Path, out: Path) -> list[Path]:
    """The digest preview and the first message of each kind, as standalone HTML files."""
    pages = []
    for digest in sorted(folder.glob("digest-*.html"))[:1]:
        target = out / "digest.html"
        shutil.copy(digest, target)
        pages.append(target)
    found: dict[str, EmailMessage] = {}
    for eml in sorted((folder / "local" / "outbox").glob("*.eml")):
        message = message_from_bytes(eml.read_bytes(), policy=DEFAULT_POLICY)
        assert isinstance(message, EmailMessage)
        kind = str(message.get("X-Rmcal-Key", "")).split(":", 1)[0]
        if kind in KINDS and kind not in found:
            found[kind] = message
    for kind in KINDS:
        if kind not in found:
            continue
        html = found[kind].get_body(("html",))
        assert html is not None
        target = out / f"{kind}.html"
        target.write_text(html.get_content(), encoding="utf-8")
        pages.append(target)
    return pages


def shoot(chromium: str, page: Path, width: int, scheme: str, out: Path) -> Path:
    png = out / f"{page.stem}-{width}-{scheme}.png"
    with tempfile.TemporaryDirectory() as profile:
        args = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--window-size={width},1800",
            f"--screenshot={png}",
        ]
        if scheme == "dark":
            args.append("--force-dark-mode")
        subprocess.run([*args, page.as_uri()], check=True, capture_output=True, timeout=120)
    return png


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "demo"
        demo(folder)
        pages = mails(folder, args.out)
    for page in pages:
        for width in WIDTHS:
            for scheme in SCHEMES:
                print(shoot(args.chromium, page, width, scheme, args.out))


if __name__ == "__main__":
    main()
