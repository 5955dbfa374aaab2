"""A real SSH session: start OpenSSH's sshd on 127.0.0.1, run tui-echo through ``ssh -tt`` in tmux.

Everything lives in a temporary folder: a free port, a generated host key and user key, an
sshd_config that only listens on loopback and only accepts that key. Used by tests/test_ssh.py;
run it by hand with ``python scripts/ssh_session.py`` to watch the screen it checks.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def available() -> str | None:
    """None when sshd, ssh, ssh-keygen and tmux are all here, else what is missing."""
    missing = [tool for tool in ("ssh", "ssh-keygen", "tmux") if not shutil.which(tool)]
    if not os.path.exists(SSHD):
        missing.append("sshd")
    return ", ".join(missing) or None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def sshd() -> Iterator[list[str]]:
    """Run a private sshd; yields the ssh command (without the remote command) that reaches it."""
    with tempfile.TemporaryDirectory(prefix="tui-echo-ssh-") as folder:
        home = Path(folder)
        home.chmod(0o700)
        for key in ("host_key", "user_key"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(home / key)], check=True)
        (home / "authorized_keys").write_text((home / "user_key.pub").read_text())
        port = _free_port()
        (home / "sshd_config").write_text(
            f"Port {port}\nListenAddress 127.0.0.1\nHostKey {home / 'host_key'}\n"
            f"AuthorizedKeysFile {home / 'authorized_keys'}\nPidFile {home / 'sshd.pid'}\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
            "StrictModes no\nPermitRootLogin yes\nPermitUserEnvironment no\nAcceptEnv TERM\n"
        )
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # sshd's privilege-separation folder
        server = subprocess.Popen([SSHD, "-D", "-e", "-f", str(home / "sshd_config")], stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
                time.sleep(0.1)
            yield [
                "ssh", "-tt", "-p", str(port), "-i", str(home / "user_key"),
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                f"{os.environ.get('USER') or 'root'}@127.0.0.1",
            ]
        finally:
            server.terminate()
            server.wait(timeout=10)


class Tmux:
    """One detached tmux session: type into it and read its screen."""

    def __init__(self, command: str, width: int = 100, height: int = 30) -> None:
        self.name = f"tui-echo-{os.getpid()}-{time.monotonic_ns()}"
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height), command],
                       check=True)

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def screen(self) -> str:
        done = subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True)
        return done.stdout

    def wait_for(self, text: str, timeout: float) -> str:
        """Poll the screen until ``text`` shows; return the screen (raise with it if it never does)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.25)
        raise TimeoutError(f"{text!r} not on screen after {timeout:.0f} s:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def remote_command(args: list[str], runs_dir: str) -> str:
    """The tui-echo command line the remote shell runs: this Python, this checkout."""
    env = f"TUI_ECHO_RUNS_DIR={shlex.quote(runs_dir)} PYTHONPATH={shlex.quote(str(Path(__file__).parents[1]))}"
    return f"cd {shlex.quote(os.getcwd())} && env {env} {shlex.quote(sys.executable)} -m tui_echo " + shlex.join(args)


def lab_session(timeout: float = 120) -> str:
    """Open the lab over SSH, train with ctrl+r, and return the screen once it has finished."""
    with sshd() as ssh, tempfile.TemporaryDirectory() as runs:
        command = shlex.join([*ssh, remote_command(["--epochs", "40"], runs)])
        tmux = Tmux(command)
        try:
            tmux.wait_for("Train", timeout)  # the key bar is up: the app runs on the far side
            tmux.keys("C-r")
            return tmux.wait_for("finished · final loss", timeout)
        finally:
            tmux.keys("C-q")
            time.sleep(0.5)
            tmux.close()


if __name__ == "__main__":
    print(lab_session())
