"""A real IMAP server for the reply tests: Debian's Dovecot, started in a temporary folder.

Why a real server and not a fake: what must hold is how rmcal talks IMAP (TLS, LOGIN, EXAMINE,
UID SEARCH past the last UID, BODYSTRUCTURE, BODY.PEEK, STORE only when asked), and a fake
would only agree with the code that was written against it. ``.ci/run`` installs the package
(``dovecot-imapd``); without it the tests skip on a workstation and fail under ``CI``.

What Dovecot needs to run from a test (found by trying, as root and as an ordinary user):

* ``-F -c <our dovecot.conf>``: in the foreground, so the test owns the master process and
  stops it by its pid; nothing of the system's configuration or service is touched;
* ``base_dir``/``state_dir``/``log_path`` in the temporary folder, ``listen = 127.0.0.1``, two
  free high ports (implicit TLS, and plain IMAP that must upgrade with STARTTLS), ``ssl =
  required`` with a certificate from ``tests.fakes.tls`` (so plain-text login is refused);
* one user in a ``passwd-file`` (``{PLAIN}`` password) and a static userdb with
  ``mail_location = maildir:~/Maildir``;
* as root: the login processes refuse to run as root ("This process must not be run as root")
  and the userdb may not return uid 0 ("userdb returned 0 as uid"), so logins run as the
  package's ``dovenull``, auth as its ``dovecot`` user, and mail belongs to ``nobody``: the
  folder is made traversable (0711), the password file readable, the mail home ``nobody``'s;
* as an ordinary user: every service runs as that user and group, and nothing is chrooted.
"""

from __future__ import annotations

import contextlib
import grp
import imaplib
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.tls import make_tls_files

USER = "programme@example.com"
PASSWORD = "imap-pa55-word"
START_TIMEOUT = 15.0


def dovecot_binary() -> str:
    """Where Dovecot is; a skip on a workstation without it, a failure under CI."""
    found = shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.access(p, os.X_OK)),
        None,
    )
    if found is None:
        why = "Dovecot is not installed (apt-get install -y dovecot-imapd; .ci/run does it)"
        if os.environ.get("CI"):
            pytest.fail(why + ": the IMAP reply tests must run in CI")
        pytest.skip(why)
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Dovecot:
    """A running server: where it listens, who may log in, and the CA its certificate needs."""

    port: int  # implicit TLS
    starttls_port: int  # plain IMAP; login only after STARTTLS
    ca_path: Path
    folder: Path
    host: str = "127.0.0.1"
    user: str = USER
    password: str = PASSWORD

    def settings(self, mailbox: str, **more: object) -> dict[str, object]:
        """A ``replies.imap`` section for this server (password from RM_IMAP_PASSWORD)."""
        section: dict[str, object] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password_env": "RM_IMAP_PASSWORD",
            "mailbox": mailbox,
            "ca_file": str(self.ca_path),
        }
        section.update(more)
        return section

    @contextlib.contextmanager
    def session(self) -> Iterator[imaplib.IMAP4_SSL]:
        """The test's own IMAP session: to deliver messages and look at flags."""
        tls = ssl.create_default_context(cafile=str(self.ca_path))
        client = imaplib.IMAP4_SSL(self.host, self.port, ssl_context=tls, timeout=10)
        client.login(self.user, self.password)
        try:
            yield client
        finally:
            client.logout()

    def new_mailbox(self, name: str) -> str:
        """A fresh, empty mailbox for one test (deleted first if a run left it)."""
        with self.session() as client:
            client.delete(f'"{name}"')
            status, data = client.create(f'"{name}"')
            assert status == "OK", data
        return name

    def deliver(self, mailbox: str, *messages: bytes) -> None:
        """Put messages in a mailbox as new, unread mail (APPEND, as a delivery agent would)."""
        with self.session() as client:
            for data in messages:
                status, said = client.append(f'"{mailbox}"', None, None, data)
                assert status == "OK", said

    def flags(self, mailbox: str) -> dict[int, set[str]]:
        """Every message's flags by UID, read without changing them (EXAMINE, FETCH FLAGS)."""
        with self.session() as client:
            client.select(f'"{mailbox}"', readonly=True)
            _, data = client.uid("FETCH", "1:*", "(UID FLAGS)")
        found: dict[int, set[str]] = {}
        for item in data:
            if not isinstance(item, bytes):
                continue
            text = item.decode()
            uid = int(text.split("UID ")[1].split()[0].rstrip(")"))
            flags = text.split("FLAGS (")[1].split(")")[0]
            found[uid] = set(flags.split())
        return found


def _config(folder: Path, port: int, starttls_port: int, tls_cert: Path, tls_key: Path) -> str:
    if os.geteuid() == 0:
        mail = pwd.getpwnam("nobody")
        services = ""  # the package's dovecot and dovenull users; logins chrooted as usual
    else:
        mail = pwd.getpwuid(os.geteuid())
        services = f"""
default_internal_user = {mail.pw_name}
default_internal_group = {grp.getgrgid(mail.pw_gid).gr_name}
default_login_user = {mail.pw_name}
service imap-login {{
  chroot =
}}
service anvil {{
  chroot =
}}
"""
    return f"""
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{tls_cert}
ssl_key = <{tls_key}
auth_mechanisms = plain
first_valid_uid = {mail.pw_uid}
first_valid_gid = {mail.pw_gid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/users
}}
userdb {{
  driver = static
  args = uid={mail.pw_uid} gid={mail.pw_gid} home={folder}/home/%u
}}
mail_location = maildir:~/Maildir
{services}
service imap-login {{
  inet_listener imap {{
    port = {starttls_port}
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
"""


@contextlib.contextmanager
def running_dovecot() -> Iterator[Dovecot]:
    """Start Dovecot on two free ports; stop it (by its pid) and remove its folder after."""
    binary = dovecot_binary()
    folder = Path(tempfile.mkdtemp(prefix="rmcal-dovecot-"))
    process: subprocess.Popen[bytes] | None = None
    try:
        folder.chmod(0o711)  # Dovecot's own users must reach the password file and the mail
        tls = make_tls_files(folder / "tls")
        tls.key_path.chmod(0o600)
        users = folder / "users"
        users.write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        users.chmod(0o644)
        home = folder / "home"
        home.mkdir()
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(home, nobody.pw_uid, nobody.pw_gid)
        port, starttls_port = _free_port(), _free_port()
        conf = folder / "dovecot.conf"
        conf.write_text(_config(folder, port, starttls_port, tls.cert_path, tls.key_path))
        output = folder / "output.log"
        with output.open("wb") as sink:
            process = subprocess.Popen(
                [binary, "-F", "-c", str(conf)], stdout=sink, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                logs = [output, folder / "dovecot.log"]
                said = "".join(p.read_text(errors="replace") for p in logs if p.exists())
                pytest.fail(f"Dovecot stopped at start (exit {process.returncode}):\n{said}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"Dovecot did not listen on 127.0.0.1:{port} in {START_TIMEOUT} s")
            time.sleep(0.05)
        yield Dovecot(port=port, starttls_port=starttls_port, ca_path=tls.ca_path, folder=folder)
    finally:
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
