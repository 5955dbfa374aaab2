"""Textual's Linux driver, with a lone escape reported after ESCDELAY rather than up to 100 ms later.

A terminal sends the escape key as a bare ``ESC`` byte, which also starts every escape sequence,
so the parser waits ``ESCDELAY`` to see whether more follows. Textual 8.2.8's input thread checks
that wait only when its 100 ms ``select`` returns, so escape (stop, close a screen) took
100-110 ms to act whatever ``ESCDELAY`` said (measured with ``benchmarks/ui.py``). This input
thread is Textual's own, except that ``select`` wakes when the parser's wait is due.
"""

from __future__ import annotations

import os
import selectors
from codecs import getincrementaldecoder

from textual._loop import loop_last
from textual._parser import ParseError
from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

IDLE_POLL_S = 0.1  # as Textual: how often the thread checks for exit when no key comes


class PromptEscapeDriver(LinuxDriver):
    """``LinuxDriver`` whose input thread wakes for a pending escape's timeout."""

    def run_input_thread(self) -> None:
        """Wait for input and dispatch events (Textual's loop, with a timely ``select`` timeout)."""
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode

        def process(events: list, final: bool = False) -> None:
            for last, (_, mask) in loop_last(events):
                if mask & selectors.EVENT_READ:
                    data = decode(os.read(self.fileno, 1024 * 4), final=final and last)
                    if not data:
                        break  # stdin was piped
                    for event in parser.feed(data):
                        self.process_message(event)
            for event in parser.tick():
                self.process_message(event)

        def timeout() -> float:
            due = parser._timeout_time  # set while a lone ESC waits for what may follow it
            return IDLE_POLL_S if due is None else min(IDLE_POLL_S, max(0.0, due - get_time()))

        try:
            while not self.exit_event.is_set():
                process(selector.select(timeout()))
            selector.unregister(self.fileno)
            process(selector.select(IDLE_POLL_S), final=True)
        finally:
            selector.close()
            try:
                for _ in parser.feed(""):
                    pass
            except (EOFError, ParseError):
                pass
