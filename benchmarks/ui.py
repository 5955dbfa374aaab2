"""How responsive the TUI is, measured on the real program in a pseudo-terminal.

    .venv/bin/python benchmarks/ui.py [--presses 50] [--size 100x30]

1. Time to first frame: from starting ``tui-echo`` to the first painted frame (the Settings
   pane's title in the terminal output), against ``python -c "import tensorflow"`` timed the
   same way in the same run. Target: ratio <= 0.3.
2. Key-press latency while the fast engine trains: from writing a key to the terminal to the
   screen change it causes arriving on the terminal (help opening and closing; the status line
   saying paused, then training again). Target: p99 < 50 ms. A lone escape cannot be told from
   the start of an escape sequence until ESCDELAY (10 ms, set by the app) has passed with no
   more bytes, so escape's numbers include that wait; the other keys are also summarised without it.

Prints the numbers; not a pass/fail test. Each measurement takes the median of a few starts.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import statistics
import struct
import subprocess
import sys
import termios
import threading
import time

ENV_DROP = ("TF_CPP_MIN_LOG_LEVEL", "COLUMNS", "LINES", "FORCE_COLOR")


class Terminal:
    """A program in a pseudo-terminal; its output is collected by a thread, with arrival times."""

    def __init__(self, argv: list[str], size: tuple[int, int]) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        env = {k: v for k, v in os.environ.items() if k not in ENV_DROP}
        env.update(TERM="xterm-256color", COLORTERM="truecolor")
        self.started = time.perf_counter()
        self.process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                        start_new_session=True)
        os.close(slave)
        self.output = bytearray()
        self._lock = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                chunk = b""
            with self._lock:
                if chunk:
                    self.output.extend(chunk)
                self._lock.notify_all()
            if not chunk:
                return

    def wait_for(self, text: bytes, after: int = 0, timeout: float = 60.0) -> float:
        """Block until ``text`` appears at or after byte ``after``; return perf_counter then."""
        deadline = time.perf_counter() + timeout
        with self._lock:
            while self.output.find(text, max(0, after - len(text))) < 0:
                left = deadline - time.perf_counter()
                if left <= 0 or self.process.poll() is not None:
                    raise RuntimeError(f"{text!r} did not appear")
                self._lock.wait(min(left, 0.05))
            return time.perf_counter()

    def mark(self) -> int:
        with self._lock:
            return len(self.output)

    def press(self, keys: bytes, expect: bytes, timeout: float = 10.0) -> float:
        """Write ``keys``; return seconds until ``expect`` shows up in output written after them."""
        start = self.mark()
        sent = time.perf_counter()
        os.write(self.master, keys)
        return self.wait_for(expect, after=start, timeout=timeout) - sent

    def close(self) -> None:
        if self.process.poll() is None:
            os.write(self.master, b"\x11")  # ctrl+q
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        os.close(self.master)


def tui_echo(*args: str) -> list[str]:
    return [sys.executable, "-m", "tui_echo", *args]


def time_import_tensorflow() -> float:
    """Wall seconds of a fresh ``python -c 'import tensorflow'``."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import tensorflow"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def time_first_frame(size: tuple[int, int]) -> tuple[float, float]:
    """Seconds to the first frame, and to TensorFlow loaded with the model summary shown."""
    terminal = Terminal(tui_echo(), size)
    try:
        first = terminal.wait_for(b"Settings") - terminal.started
        ready = terminal.wait_for(b"ready \xc2\xb7 ctrl+r", timeout=120) - terminal.started
        return first, ready
    finally:
        terminal.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def key_latencies(presses: int, size: tuple[int, int], warmup: float, train: bool = True
                  ) -> tuple[dict[str, list[float]], str]:
    """Latencies (s) per kind of key while a long training runs; and the status line seen."""
    # Sequences of 20 steps: the compiled engine still runs thousands of epochs a second, and the
    # run lasts long enough for every press (1,000,000 epochs is the most the form accepts).
    terminal = Terminal(tui_echo("--epochs", "1000000", "--length", "20"), size)
    results: dict[str, list[float]] = {"? opens help": [], "escape closes help": []}
    if train:
        results.update({"space pauses": [], "space resumes": []})
    try:
        terminal.wait_for(b"ready \xc2\xb7 ctrl+r", timeout=120)
        if train:
            terminal.press(b"\x12", b"training epoch", timeout=60)  # ctrl+r
        time.sleep(warmup)
        for _ in range(presses):
            results["? opens help"].append(terminal.press(b"?", b"lab keys"))
            time.sleep(0.05)
            results["escape closes help"].append(terminal.press(b"\x1b", b"length"))
            time.sleep(0.05)
            if train:
                results["space pauses"].append(terminal.press(b" ", b"paused at"))
                time.sleep(0.05)
                results["space resumes"].append(terminal.press(b" ", b"training epoch"))
            time.sleep(0.1)
        tail = bytes(terminal.output[-20000:])
        seen = "training epoch" if b"training epoch" in tail else "?"
        at = tail.rfind(b"training epoch")
        if at >= 0:
            seen = tail[at : at + 70].split(b"\x1b")[0].decode(errors="replace")
        return results, seen
    finally:
        terminal.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=50, help="rounds of the four keys (default 50)")
    parser.add_argument("--starts", type=int, default=3, help="starts timed for the first frame (default 3)")
    parser.add_argument("--size", default="100x30")
    parser.add_argument("--warmup", type=float, default=5.0,
                        help="seconds of training before the presses start (default 5)")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))

    imports = [time_import_tensorflow() for _ in range(args.starts)]
    frames = [time_first_frame(size) for _ in range(args.starts)]
    tf_s = statistics.median(imports)
    first_s = statistics.median(f for f, _ in frames)
    ready_s = statistics.median(r for _, r in frames)
    print(f"import tensorflow:          {tf_s:.2f} s (median of {args.starts})")
    print(f"tui-echo first frame:       {first_s:.2f} s  -> ratio {first_s / tf_s:.2f} (target <= 0.3)")
    print(f"tui-echo TensorFlow ready:  {ready_s:.2f} s (summary shown, ctrl+r trains at once)")
    load = os.getloadavg()[0]
    print(f"(load average {load:.1f} on {os.cpu_count()} CPUs: other work on the machine slows all of this)")

    runs = [("idle (no training), for reference", False, 0.5),
            (f"while training, from {args.warmup:g} s after ctrl+r", True, args.warmup)]
    for title, train, warmup in runs:
        results, seen = key_latencies(args.presses, size, warmup, train)
        everything = [v for values in results.values() for v in values]
        print(f"key-press -> screen update, {title} ({len(everything)} presses, {args.size}):")
        for name, values in results.items():
            ms = [v * 1000 for v in values]
            print(f"  {name:<20} p50 {statistics.median(ms):6.1f} ms   p99 {percentile(ms, 99):6.1f} ms"
                  f"   max {max(ms):6.1f} ms")
        ms = [v * 1000 for v in everything]
        print(f"  {'all':<20} p50 {statistics.median(ms):6.1f} ms   p99 {percentile(ms, 99):6.1f} ms"
              f"   max {max(ms):6.1f} ms   (target p99 < 50 ms)")
        plain = [v * 1000 for name, values in results.items() if not name.startswith("escape") for v in values]
        print(f"  {'all but escape':<20} p50 {statistics.median(plain):6.1f} ms   p99 {percentile(plain, 99):6.1f} ms"
              f"   max {max(plain):6.1f} ms")
        if train:
            print(f"  status line during the run: {seen!r}")


if __name__ == "__main__":
    main()
