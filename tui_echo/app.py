"""The Textual app: global keys, loading TensorFlow in the background, and the command palette.

The lab itself (panes, the training worker) is ``screens.lab.LabScreen``, the default screen;
other screens (help, and later compare and runs) are pushed over it and keep its state.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import sys
from functools import partial
from typing import Any, Callable, Iterator

# A lone escape (our Stop key) is only known to be one when no sequence byte follows within
# ESCDELAY ms; our driver (driver.py) acts as soon as that wait is over. Terminals and SSH send a
# sequence's bytes together, so 10 ms is plenty (Neovim waits 50); set ESCDELAY to override.
# Must be set before Textual reads its constants.
os.environ.setdefault("ESCDELAY", "10")

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.worker import get_current_worker

from .ascii import AsciiFilter
from .core import runtime
from .core.config import Config
from .core.runs import RunStore
from .core.topologies import TOPOLOGIES
from .messages import StoreWarning, TensorFlowFailed, TensorFlowReady
from .screens.base import LeanScreen
from .screens.help import HelpScreen
from .screens.lab import LabScreen
from .core.runtime import run_in_daemon
from .training import TrainingService


QUIT_GRACE_S = 0.6


def _exit_now(code: int) -> None:
    """End the process at once, skipping the interpreter's teardown."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


class LabCommands(Provider):
    """Command-palette entries for the lab's actions (only those that apply now)."""

    def _commands(self) -> Iterator[tuple[str, str, Callable[[], object]]]:
        """(name, help, callback) for each action that applies now."""
        app = self.app
        assert isinstance(app, EchoApp)
        lab = app.lab
        if lab.check_action("train", ()):
            yield "Train", "Train the current settings (ctrl+r)", lab.action_train
        if lab.check_action("stop", ()):
            yield "Stop training", "Stop; the epochs so far are kept (escape)", lab.action_stop
        if lab.check_action("pause", ()):
            yield "Pause training", "Hold training between chunks (space)", lab.action_pause
        if lab.check_action("resume", ()):
            yield "Resume training", "Carry on training (space)", lab.action_resume
        if not lab.running:
            for index, (name, topology) in enumerate(TOPOLOGIES.items(), start=1):
                yield f"Topology: {name}", f"{topology.explanation} ({index})", partial(lab.action_topology, index - 1)
            yield "Reset settings", "Tutorial defaults for the chosen topology", lab.reset_settings
        if lab.check_action("compare", ()):
            yield "Compare topologies", "Train every topology on these settings, side by side (c)", lab.action_compare
        yield "Runs", "Saved runs: reopen, compare, load or delete them (h)", lab.action_runs
        if not lab.running:
            yield "Sweep", "Sweep topology, cell, units, lr and seeds on these settings (w)", lab.action_sweep
        if lab.check_action("explain", ()):
            yield "Explain shapes", "Shapes, parameter formulas, TimeDistributed vs Dense (x)", lab.action_explain
        yield "Zoom pane", "Fill the screen with the focused pane, or restore it (z)", lab.action_zoom
        yield "Keys", "Every key and what it does (?)", app.action_help

    async def discover(self) -> Hits:
        """Everything, when nothing is typed yet."""
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        """Entries whose name matches what was typed."""
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)


class EchoApp(App[None]):
    """tui-echo: configure an LSTM topology, watch it learn, read its summary and predictions."""

    CSS_PATH = "app.tcss"
    TITLE = "tui-echo"
    COMMANDS = App.COMMANDS | {LabCommands}
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="quit", priority=True,
                tooltip="Quit at once, even mid-training (the training is stopped first)"),
        Binding("question_mark", "help", "Help", id="help", key_display="?", tooltip="List the keys of this screen"),
        Binding("f1", "help", "Help", show=False, id="help-f1", tooltip="List the keys of this screen"),
    ]

    def __init__(
        self, config: Config | None = None, *, deterministic: bool = False, load_tensorflow: bool = True,
        ascii_only: bool = False, attach: str | None = None,
    ) -> None:
        """``deterministic`` hides run-to-run timings and the device (snapshot tests).

        ``load_tensorflow=False`` never imports TensorFlow (UI-only tests and time-to-first-frame).
        ``ascii_only`` draws borders and charts with ASCII characters (``--ascii``).
        ``attach``: open on that run, trained by another process, read-only (``tui-echo attach``).
        """
        self.ascii_only = ascii_only  # read by get_css_variables, which App.__init__ calls
        super().__init__()
        if ascii_only:
            self._filters.append(AsciiFilter())
        self.config = config or Config()
        self.deterministic = deterministic
        self.quitting = False
        self.exit_process = True  # see run()
        # Every training is saved here ($TUI_ECHO_RUNS_DIR, else $XDG_DATA_HOME/tui-echo/runs);
        # its warnings may come from a worker thread, so they travel as messages.
        self.run_store: RunStore | None = RunStore(warn=lambda text: self.post_message(StoreWarning(text)))
        self.tf_ready = False
        self.tf_failed = ""
        self.device = "…"
        self._load_tensorflow = load_tensorflow
        self.training = TrainingService(self)  # every background job with Keras goes through it
        self.lab = LabScreen(self.config, self.training)
        self.attach = attach

    def get_driver_class(self) -> type:
        """Textual's driver for this platform; on Linux and macOS one that acts on escape promptly."""
        driver = super().get_driver_class()
        if driver.__name__ == "LinuxDriver":  # (imported only where Textual would use it)
            from .driver import PromptEscapeDriver

            return PromptEscapeDriver
        return driver

    def get_css_variables(self) -> dict[str, str]:
        """The theme's variables plus ``$pane-border``, the border kind of every pane."""
        return {**super().get_css_variables(), "pane-border": "ascii" if self.ascii_only else "round"}

    def run(self, *args: Any, **kwargs: Any) -> None:
        """Run the app; in a real terminal, end the process as soon as the app has closed.

        Measured here after ctrl+q mid-training: the terminal is restored in ~0.2 s, but a normal
        interpreter exit then takes 1-3 s more: the engine's XLA compile thread is joined (it is
        not a daemon, see core/engine.py) and freeing TensorFlow's modules takes ~0.9 s. The
        issue asks for an exit within 1 s, so a non-headless run ends the process with
        ``os._exit`` once Textual has restored the terminal and its workers have returned
        (training is stopped first; work that cannot stop within 0.5 s is abandoned).
        Headless runs (tests, snapshots) return normally.
        """
        result = super().run(*args, **kwargs)
        if self.exit_process and not kwargs.get("headless") and kwargs.get("auto_pilot") is None:
            _exit_now(self.return_code or 0)
        return result

    def get_default_screen(self) -> LabScreen:
        """The lab is the screen everything else is pushed over."""
        return self.lab

    def on_mount(self) -> None:
        """Paint first; import TensorFlow after the first frame."""
        if self.attach is not None and self.run_store is not None:
            from .screens.attach import AttachScreen

            self.push_screen(AttachScreen(self.run_store, self.attach))
        if self._load_tensorflow:
            self.call_after_refresh(self.load_tensorflow)
        if not self.is_headless:
            self._quit_on_signals()

    def _quit_on_signals(self) -> None:
        """SIGTERM and SIGHUP quit as ctrl+q does: training stopped and saved, terminal restored.

        Left to their default action they kill the process at once: no run saved, and the terminal
        left in the alternate screen with the cursor hidden and mouse reporting on. A SIGHUP that
        is ignored (``nohup``) stays ignored.
        """
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(signum) != signal.SIG_IGN:
                loop.add_signal_handler(signum, self.call_later, self.action_quit)

    @work(thread=True, exclusive=True, group="tensorflow", exit_on_error=False)
    def load_tensorflow(self) -> None:
        """Import TensorFlow (seconds) off the UI thread; say which device it found."""
        worker = get_current_worker()

        def load() -> str:
            runtime.load()
            return runtime.device_name()

        try:
            device = run_in_daemon(load, give_up=lambda: worker.is_cancelled)
        except Exception as error:
            self.post_message(TensorFlowFailed(f"{type(error).__name__}: {error}"))
            return
        if device is not None:
            self.post_message(TensorFlowReady(device))

    def on_tensor_flow_ready(self, message: TensorFlowReady) -> None:
        """Remember the device; let the lab build its summary or start a waiting run."""
        self.tf_ready = True
        self.device = message.device
        self._install_help()  # now, while the lab waits, rather than on the first ?
        self._calm_gc()
        self.lab.tensorflow_ready()

    @staticmethod
    def _calm_gc() -> None:
        """Fewer, shorter garbage-collection pauses on the UI thread.

        While training, frames allocate fast and Python collected ~150 times a second; with
        TensorFlow's ~300k objects to scan, its full collections took ~25 ms each and keys waited
        behind them (measured: GC 7% of the UI thread's time, lag up to 101 ms). What exists once
        TensorFlow and the screens are up lives as long as the app, so it is frozen out of every
        collection, and the young generation is collected every 20,000 allocations, not 700
        (then: 8 collections in the same 6 s, lag up to 55 ms).
        """
        gc.freeze()
        gc.set_threshold(20_000, 20, 20)

    def on_tensor_flow_failed(self, message: TensorFlowFailed) -> None:
        """Remember why; the lab explains it and refuses to train."""
        self.tf_failed = message.reason
        self.lab.tensorflow_failed(message.reason)

    def on_store_warning(self, message: StoreWarning) -> None:
        """The run store could not read or write something: say so, keep going."""
        self.notify(message.text, title="Runs", severity="warning", timeout=6, markup=False)

    async def action_quit(self) -> None:
        """Stop any training, wait until its run is saved, and leave; uninterruptible work is abandoned."""
        self.quitting = True
        self.workers.cancel_all()
        if self.run_store is not None:
            # A cancelled training stops within a chunk and saves itself as "stopped"; the save is
            # waited for (however long the history), a training that cannot stop is saved as it stands.
            await asyncio.to_thread(self.run_store.wait_saved)

        async def settle() -> None:
            for worker in list(self.workers):
                with contextlib.suppress(Exception):  # cancelled or failed: either way, done
                    await worker.wait()

        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(settle(), timeout=QUIT_GRACE_S)
        self.exit()

    def action_help(self) -> None:
        """Show the keys of the screen on show."""
        screen = self.screen
        if isinstance(screen, HelpScreen):
            return
        if screen is self.lab:
            self._install_help()
            self.push_screen("help")
        elif isinstance(screen, LeanScreen):
            self.push_screen(HelpScreen(screen.help_bindings(), screen.HELP_TITLE, screen.HELP_NOTES))

    def _install_help(self) -> None:
        """Build the lab's help once; it is reused (the first build took ~80 ms while training)."""
        if not self.is_screen_installed("help"):
            lab = self.lab
            self.install_screen(HelpScreen(lab.help_bindings(), lab.HELP_TITLE, lab.HELP_NOTES), name="help")
