"""A private Dovecot (Debian ``dovecot-imapd``) for the poller tests.

Its own config, base and state directories, log and passwd-file live in one temporary folder;
it listens on a free loopback port. As root (CI) the login processes run as ``dovenull`` and
the mail processes as ``dovecot`` (FIELD-NOTES.md); as any other user, everything runs as
that user. Each test gets a user (and Maildir) of its own, so one server serves a session.
"""

from __future__ import annotations

import contextlib
import grp
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from imapclient import IMAPClient

SBIN = ("/usr/sbin", "/usr/local/sbin")
START_TIMEOUT = 20.0
STOP_TIMEOUT = 30.0
PASSWORD = "secret-imap-password"


def find_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for folder in SBIN:
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def missing_reason() -> str | None:
    """Why the Dovecot tests cannot run here, or None when they can."""
    for name in ("dovecot", "doveadm"):
        if find_binary(name) is None:
            return f"{name} not installed (Debian: apt-get install dovecot-imapd)"
    if os.geteuid() == 0:
        for user in ("dovecot", "dovenull"):
            try:
                pwd.getpwnam(user)
            except KeyError:
                return f"user {user!r} missing (it comes with the dovecot-core package)"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _config(root: Path, port: int, login_user: str, internal_user: str, mail_user: str) -> str:
    group = grp.getgrgid(pwd.getpwnam(mail_user).pw_gid).gr_name
    return f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = 1
first_valid_gid = 1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users/%u
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={group} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
  # No growing delay after failed logins: the tests log in wrongly on purpose.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
auth_failure_delay = 0
# Sockets the package gives to group "dovecot", which an unprivileged user cannot chown to.
service stats {{
  unix_listener stats-reader {{
    group =
    mode = 0666
  }}
  unix_listener stats-writer {{
    group =
    mode = 0666
  }}
}}
service dict {{
  unix_listener dict {{
    group =
  }}
}}
service dict-async {{
  unix_listener dict-async {{
    group =
  }}
}}
service imap-hibernate {{
  unix_listener imap-hibernate {{
    group =
  }}
}}
"""


class Dovecot:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="maild-dovecot-"))
        self.root.chmod(0o755)  # the mail processes run as another user and must get in
        self.port = free_port()
        root_user = os.geteuid() == 0
        me = pwd.getpwuid(os.geteuid()).pw_name
        self.mail_user = "dovecot" if root_user else me
        self.config = self.root / "dovecot.conf"
        self.config.write_text(
            _config(
                self.root,
                self.port,
                "dovenull" if root_user else me,
                "dovecot" if root_user else me,
                self.mail_user,
            )
        )
        for folder in ("run", "state", "mail", "users"):
            (self.root / folder).mkdir()
        self._chown(self.root / "mail")
        self._users = itertools.count(1)
        self._dovecot = find_binary("dovecot") or "dovecot"
        self._doveadm = find_binary("doveadm") or "doveadm"

    # ----------------------------------------------------------------------------------------
    # Server

    def start(self) -> Dovecot:
        pid_file = self.root / "run" / "master.pid"
        pid_file.unlink(missing_ok=True)  # a stale one blocks the start (FIELD-NOTES.md)
        with (self.root / "start.out").open("ab") as output:
            # dovecot daemonizes but keeps the caller's stdout open: never a pipe here.
            done = subprocess.run(
                [self._dovecot, "-c", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=START_TIMEOUT,
                check=False,
            )
        if done.returncode != 0:
            raise RuntimeError(f"dovecot did not start ({done.returncode}):\n{self.log_tail()}")
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:  # waiting for a process to bind, not for a clock
            if self.master_pid() is not None:  # written after the port is bound, sometimes
                with contextlib.suppress(OSError):
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                    return self
            time.sleep(0.02)
        raise RuntimeError(f"dovecot did not listen on {self.port}:\n{self.log_tail()}")

    def master_pid(self) -> int | None:
        try:
            return int((self.root / "run" / "master.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def _children(self, parent: int) -> list[int]:
        children = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rpartition(")")[2].split()
            if len(fields) > 1 and fields[1] == str(parent):
                children.append(int(entry.name))
        return children

    def stop(self) -> None:
        """Stop the master and the sessions it started, as a server restart does.

        Dovecot's master leaves an IMAP session in IDLE running until its client goes; the
        processes it started are ended here by their ids so that clients see the restart.
        """
        master = self.master_pid()
        if master is None:
            return
        children = self._children(master)
        with contextlib.suppress(ProcessLookupError):
            os.kill(master, 15)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, 15)
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline and _alive(master):
            time.sleep(0.02)
        (self.root / "run" / "master.pid").unlink(missing_ok=True)

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = (self.root / "dovecot.log").read_text(errors="replace")
        except OSError:
            return "(no dovecot log)"
        return "\n".join(text.splitlines()[-lines:])

    def doveadm(self, *args: str) -> str:
        done = subprocess.run(
            [self._doveadm, "-c", str(self.config), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    # ----------------------------------------------------------------------------------------
    # Users and mail

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            entry = pwd.getpwnam(self.mail_user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def add_user(self) -> str:
        """A new user with an empty mailbox. One passwd-file per user: Dovecot may not
        notice a file that changed twice within a second."""
        user = f"user{next(self._users)}"
        (self.root / "users" / user).write_text(f"{user}:{{PLAIN}}{PASSWORD}::::::\n")
        return user

    @contextlib.contextmanager
    def client(self, user: str) -> Iterator[IMAPClient]:
        client = IMAPClient("127.0.0.1", self.port, ssl=False, timeout=10)
        try:
            client.login(user, PASSWORD)
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.logout()

    def append(self, user: str, raw: bytes, folder: str = "INBOX") -> None:
        with self.client(user) as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            client.append(folder, raw)

    def message_ids(self, user: str, folder: str = "INBOX") -> list[str]:
        """The Message-IDs in ``folder`` (empty if it does not exist)."""
        with self.client(user) as client:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            if not uids:
                return []
            data = client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
            ids = []
            for uid in sorted(data):
                header = data[uid][b"BODY[HEADER.FIELDS (MESSAGE-ID)]"].decode()
                ids.append(header.partition(":")[2].strip())
            return ids

    def flags(self, user: str, folder: str = "INBOX") -> list[tuple[bytes, ...]]:
        with self.client(user) as client:
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            data = client.fetch(uids, ["FLAGS"]) if uids else {}
            return [tuple(data[uid][b"FLAGS"]) for uid in sorted(data)]

    def uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        with self.client(user) as client:
            return int(client.folder_status(folder, ["UIDVALIDITY"])[b"UIDVALIDITY"])

    def set_uidvalidity(self, user: str, value: int, folder: str = "INBOX") -> None:
        self.doveadm("mailbox", "update", "-u", user, "--uid-validity", str(value), folder)

    def recreate_folder(self, user: str, folder: str) -> None:
        """Delete ``folder`` with its mail and create it empty: a new UIDVALIDITY, UIDs from 1."""
        with self.client(user) as client:
            client.delete_folder(folder)
            client.create_folder(folder)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
