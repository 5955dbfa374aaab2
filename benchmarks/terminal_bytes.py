"""Bytes the lab writes to its terminal per second while training (target < 20 KB/s in every scenario).

Runs ``tui-echo`` in a pseudo-terminal of 100×30, presses ctrl+r, counts what it writes during
the training, then quits. Slow links and tmux scrollback pay for every byte. Run:
``python benchmarks/terminal_bytes.py``.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import tempfile
import termios
import time

WINDOW = (30, 100)
MEASURE_S = 10.0


def drain(fd: int, seconds: float) -> bytes:
    """Everything the app writes during ``seconds``."""
    out, deadline = bytearray(), time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                out += os.read(fd, 65536)
            except OSError:
                break
    return bytes(out)


def measure(extra: list[str]) -> float:
    """Bytes per second written while a long training runs."""
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", *WINDOW, 0, 0))
    with tempfile.TemporaryDirectory() as runs:
        env = {**os.environ, "TERM": "xterm-256color", "TUI_ECHO_RUNS_DIR": runs}
        app = subprocess.Popen([sys.executable, "-m", "tui_echo", "--epochs", "1000000", *extra],
                               stdin=child, stdout=child, stderr=child, env=env, close_fds=True)
        os.close(child)
        try:
            seen, deadline = b"", time.monotonic() + 60
            while b"Train" not in seen and time.monotonic() < deadline:
                seen += drain(main, 0.5)
            drain(main, 6.0)  # TensorFlow loads, the summary appears
            os.write(main, b"\x12")  # ctrl+r
            drain(main, 3.0)  # compile and the first chunks
            written = drain(main, MEASURE_S)
            os.write(main, b"\x11")  # ctrl+q
            app.wait(timeout=10)
        finally:
            if app.poll() is None:
                app.kill()
            os.close(main)
    return len(written) / MEASURE_S


def main() -> None:
    print(f"terminal {WINDOW[1]}x{WINDOW[0]}, {MEASURE_S:.0f} s of a long training, bytes written per second:")
    scenarios = (
        ("default (60 fps cap)", []),
        ("--engine fit", ["--engine", "fit"]),  # an epoch per batch line: the log and chart change most
        ("random-echo, length 20", ["--task", "random-echo", "--length", "20"]),  # 20 prediction rows
        ("--fps 10", ["--fps", "10"]),
    )
    for label, extra in scenarios:
        rate = measure(extra)
        verdict = "met" if rate < 20_000 else "MISSED"
        print(f"  {label:<22} {rate / 1000:8.1f} KB/s   (target < 20 KB/s: {verdict})")


if __name__ == "__main__":
    main()
