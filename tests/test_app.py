"""Pilot tests of the lab with real Keras and short trainings, plus real-terminal checks in a pty.

Each test waits for the state it needs (``wait_for``) rather than sleeping a fixed time, so the
suite stays quick on a fast machine and correct on a slow one.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import threading
import time
from typing import Callable

import pytest
from rich.console import Console
from textual.widgets import Input

from tui_echo.app import EchoApp
from tui_echo.core.config import Config
from tui_echo.training import BATCH_SECONDS, Batcher
from tui_echo.widgets import ConfigForm, EpochLog, LossChart, PredictionTable, StatusBar, SummaryPane

SIZE = (100, 30)
LONG = 1_000_000  # epochs for runs that are stopped by hand


def screen_text(app: EchoApp) -> str:
    """What the terminal shows now, as plain text."""
    console = Console(width=app.size.width, height=app.size.height, file=io.StringIO(), record=True,
                      force_terminal=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text()


async def wait_for(pilot, predicate: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    """Let the app run until ``predicate()`` holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await pilot.pause(0.02)
    await pilot.pause()


def status(app: EchoApp) -> str:
    return app.screen.query_one(StatusBar).text


# ----------------------------------------------------------------------------- training


async def test_training_to_the_end_shows_five_predictions_and_the_final_loss() -> None:
    app = EchoApp(config=Config(topology="many-to-many", epochs=40))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.tf_ready, what="TensorFlow")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.lab.phase == "finished", what="finished")
        table = app.query_one(PredictionTable)
        assert table.row_count == 5
        predicted = [table.cell_text(t, "pred") for t in range(5)]
        assert all(re.fullmatch(r"-?\d\.\d{3}", p) for p in predicted), predicted
        history = app.lab.history
        assert len(history) == 40
        final = f"{history[-1]:.4e}"
        text = screen_text(app)
        assert f"final loss {final}" in text
        for p in predicted:
            assert p in text
        assert app.lab.last_record is not None and app.lab.last_record["status"] == "finished"
        assert app.query_one(LossChart).losses.shape == (40,)
        epoch_lines = [line for line in app.query_one(EpochLog).lines if re.fullmatch(r" *\d+ \d\.\d{4}e[-+]\d+", line)]
        assert len(epoch_lines) == 40 and epoch_lines[-1].split()[1] == final  # every epoch is kept
        assert not app.query_one(ConfigForm).disabled


async def test_ctrl_r_before_tensorflow_is_loaded_starts_once_it_is() -> None:
    app = EchoApp(config=Config(topology="one-to-one", epochs=20), load_tensorflow=False)
    async with app.run_test(size=SIZE) as pilot:
        assert "loading TensorFlow" in status(app)
        await pilot.press("ctrl+r")
        assert app.lab.phase == "waiting"
        assert "training starts as soon as it is ready" in status(app)
        app.load_tensorflow()
        await wait_for(pilot, lambda: app.lab.phase == "finished", what="finished")
        assert len(app.lab.history) == 20


async def test_the_status_says_saving_until_the_run_is_stored(tmp_path, monkeypatch) -> None:
    from tui_echo.core import runs

    stored = threading.Event()
    real_finish = runs.RunWriter.finish

    def slow_finish(self, record, model=None, snapshots=None):  # a slow disk: the worker ends only after this
        stored.wait(10)
        real_finish(self, record, model, snapshots)

    monkeypatch.setattr(runs.RunWriter, "finish", slow_finish)
    app = EchoApp(config=Config(topology="many-to-many", epochs=30))
    app.run_store = runs.RunStore(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.tf_ready, what="TensorFlow")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.lab.phase == "saving", what="saving")
        await pilot.pause(0.1)
        assert status(app).startswith("trained 30 epochs") and "saving the run" in status(app)
        footer = screen_text(app).rstrip().splitlines()[-1]
        assert "Stop" not in footer and "Pause" not in footer
        stored.set()
        await wait_for(pilot, lambda: app.lab.phase == "finished", what="finished")
    assert [run.status for run in app.run_store.list()] == ["finished"]


async def test_escape_stops_mid_run_and_keeps_the_epochs() -> None:
    app = EchoApp(config=Config(topology="many-to-many", epochs=LONG))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.tf_ready)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.lab.phase == "training" and len(app.lab.history) > 20, what="epochs")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.lab.phase == "stopped", timeout=5, what="stopped")
        done = len(app.lab.history)
        assert 20 < done < LONG
        assert app.lab.last_record["status"] == "stopped"
        assert f"stopped at epoch {done:,} of {LONG:,}" in status(app)
        assert not app.query_one(ConfigForm).disabled


async def test_space_pauses_and_resumes() -> None:
    # 200 steps an epoch: the run cannot end while the test pauses and resumes it
    slow = Config(topology="many-to-many", task="random-echo", sequences=200, batch_size=1, epochs=LONG)
    app = EchoApp(config=slow)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.tf_ready)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.lab.phase == "training" and len(app.lab.history) > 10)
        await pilot.press("space")
        assert app.lab.phase == "paused"
        await pilot.pause(BATCH_SECONDS + 0.3)  # the chunk in flight and the held batch land
        held = len(app.lab.history)
        await pilot.pause(0.5)
        assert len(app.lab.history) == held, "epochs went on while paused"
        assert "paused at epoch" in status(app)
        assert "Resume" in screen_text(app)  # the footer offers what applies
        await pilot.press("space")
        assert app.lab.phase == "training"
        await wait_for(pilot, lambda: len(app.lab.history) > held + 10, timeout=10, what="more epochs")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.lab.phase == "stopped", timeout=5)


async def test_an_invalid_field_blocks_training_with_a_message() -> None:
    app = EchoApp(config=Config(topology="many-to-many", epochs=30))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.tf_ready)
        epochs = app.query_one("#field-epochs", Input)
        epochs.focus()
        epochs.value = ""
        await pilot.press(*"0")
        await pilot.pause()
        form = app.query_one(ConfigForm)
        assert form.errors == {"epochs": "epochs must be a whole number from 1 to 1,000,000 (got '0')"}
        text = " ".join(line.strip("│ ") for line in screen_text(app).splitlines())
        assert "⚠ epochs must be a" in text and "1,000,000 (got '0')" in text
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert app.lab.phase == "idle"
        assert "can't train" in status(app)
        assert app.lab.history == [] and app.lab.last_record is None
        # batch size is checked against the topology's sample count
        epochs.value = "30"
        batch = app.query_one("#field-batch_size", Input)
        batch.value = "9"
        await pilot.pause()
        assert form.errors == {"batch_size": "batch size must be a whole number from 1 to 1 (got '9')"}
        assert "⚠ batch size must be" in screen_text(app)
        batch.value = ""
        await pilot.pause()
        assert "must be" not in screen_text(app)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.lab.phase == "finished")


async def test_switching_topology_updates_the_summary() -> None:
    app = EchoApp(config=Config(topology="many-to-many"))
    async with app.run_test(size=SIZE) as pilot:
        summary = app.query_one(SummaryPane)
        await wait_for(pilot, lambda: summary.border_subtitle == "146 params", what="146")
        assert "4 × ((1 + 1) × 5 + 5²) = 140" in screen_text(app)
        app.query_one(LossChart).focus()  # keys 1-4 act when not typing in a field
        await pilot.press("2")
        await wait_for(pilot, lambda: summary.border_subtitle == "170 params", what="170")
        text = screen_text(app)
        assert "(5 + 1) × 5 = 30" in text and "many-to-one" in text
        await pilot.press("3")
        await wait_for(pilot, lambda: summary.border_subtitle == "146 params", what="146 again")
        # sizes too: 8 units -> 4 × ((1 + 1) × 8 + 8²) = 320
        units = app.query_one("#field-units", Input)
        units.value = "8"
        await wait_for(pilot, lambda: "= 320" in screen_text(app), what="units 8")


async def test_task_cell_depth_and_bidirectional_are_chosen_in_the_settings_pane() -> None:
    from textual.widgets import Checkbox, Select

    app = EchoApp(config=Config(topology="many-to-many", epochs=5))
    async with app.run_test(size=SIZE) as pilot:
        summary, form = app.query_one(SummaryPane), app.query_one(ConfigForm)
        await wait_for(pilot, lambda: summary.border_subtitle == "146 params", what="146")
        delay = app.query_one("#field-delay", Input)
        assert not delay.display  # only the delayed echo has a k
        app.query_one("#field-task", Select).value = "delay"
        await wait_for(pilot, lambda: delay.display, what="the delay field")
        assert app.query_one("#field-sequences", Input).display  # a task drawn from many sequences
        assert app.query_one("#field-epochs", Input).placeholder == "2000 (task)"
        app.query_one("#field-cell", Select).value = "gru"
        layers = app.query_one("#field-layers", Input)
        layers.value = "5"
        await pilot.pause()
        assert form.errors == {"layers": "layers must be a whole number from 1 to 4 (got '5')"}
        layers.value = "2"
        bidirectional = app.query_one("#field-bidirectional", Checkbox)
        bidirectional.focus()
        await pilot.press("space")
        await pilot.pause()
        assert form.errors == {} and bidirectional.value
        expected = Config(topology="many-to-many", task="delay", cell="gru", layers=2, bidirectional=True)
        params = expected.build_model().count_params()  # Keras' own count
        await wait_for(pilot, lambda: summary.border_subtitle == f"{params:,} params", what=f"{params} params")
        assert "Bidirectional" in screen_text(app)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.lab.phase == "finished", timeout=60)
        run = app.lab.run_config
        assert (run.task, run.cell, run.layers, run.bidirectional, run.delay) == ("delay", "gru", 2, True, 2)
        assert len(app.lab.history) == 5


async def test_ascii_draws_borders_chart_and_toggles_without_unicode_glyphs() -> None:
    app = EchoApp(config=Config(topology="many-to-many", epochs=200), ascii_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.tf_ready, what="TensorFlow")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.lab.phase == "finished")
        await pilot.pause(0.3)  # the chart's next frame
        text = screen_text(app)
        drawing = [ch for ch in text if 0x2500 <= ord(ch) <= 0x259F or 0x2800 <= ord(ch) <= 0x28FF]
        assert drawing == [], sorted(set(drawing))  # no box drawing, blocks or braille
        assert text.startswith("+- Settings -") and "(*) many-to-many" in text and "( ) one-to-one" in text
        assert re.search(r"1e-?\d\+", text) and re.search(r"\|[ '.|-]*[-'.][ '.|-]*\|", text)  # axis, curve


async def test_help_palette_and_footer_show_what_applies() -> None:
    app = EchoApp(config=Config(epochs=20), load_tensorflow=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        footer = [line for line in screen_text(app).splitlines() if line.strip()][-1]
        assert "Train" in footer and "Stop" not in footer and "Pause" not in footer
        app.query_one(LossChart).focus()
        await pilot.press("question_mark")
        text = screen_text(app)
        assert "ctrl+r" in text and "escape" in text and "space" in text
        pages = [text]
        for _ in range(4):  # the app's keys come after the lab's: the help scrolls to them
            await pilot.press("pagedown")
            pages.append(screen_text(app))
        assert any("ctrl+q" in page for page in pages)
        await pilot.press("escape")
        assert app.screen is app.lab
        await pilot.press("ctrl+p")
        await pilot.press(*"many-to-one")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.query_one(ConfigForm).topology == "many-to-one"


async def test_a_covered_lab_repaints_nothing_until_it_shows_again() -> None:
    app = EchoApp(config=Config(epochs=20), load_tensorflow=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        help_screen = app.screen
        assert help_screen is not app.lab and not app.lab.is_current
        repaints: list[tuple] = []
        real = help_screen.refresh
        help_screen.refresh = lambda *a, **k: (repaints.append(a), real(*a, **k))[1]
        app.lab.query_one(StatusBar).show("training", "training epoch 9 behind the help")
        chart = app.lab.query_one(LossChart)
        chart.extend([0.5, 0.25, 0.125])
        chart.flush()
        await pilot.pause(0.2)
        assert repaints == []  # Textual would repaint all of the help for each change behind it
        await pilot.press("escape")
        assert app.lab.is_current and "training epoch 9 behind the help" in screen_text(app)


async def test_a_training_that_raises_is_shown_and_the_lab_stays_usable(monkeypatch) -> None:
    import tui_echo.screens.lab as lab

    def explode(*args, **kwargs):
        raise RuntimeError("out of memory (simulated)")

    app = EchoApp(config=Config(topology="one-to-one", epochs=20))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.tf_ready)
        with monkeypatch.context() as patch:
            patch.setattr(lab, "run_experiment", explode)
            await pilot.press("ctrl+r")
            await wait_for(pilot, lambda: app.lab.phase == "failed", timeout=10)
        assert "failed: RuntimeError: out of memory (simulated)" in status(app)
        assert not app.query_one(ConfigForm).disabled
        await pilot.press("ctrl+r")  # and it trains again
        await wait_for(pilot, lambda: app.lab.phase == "finished")


async def test_a_diverged_run_says_so_and_suggests_a_lower_rate(monkeypatch) -> None:
    import tui_echo.screens.lab as lab
    from tui_echo.core.events import Cancelled, Epochs

    def diverges(config, on_event, should_stop, **kwargs):
        on_event(Epochs(1, (0.5, float("nan")), 0.01))
        on_event(Cancelled(2, (0.5, float("nan"))))
        return {"status": "diverged", "history": [0.5, None],
                "error": "loss became nan at epoch 2: try a lower learning rate (lr is 10)"}

    app = EchoApp(config=Config(topology="one-to-one", epochs=20, lr=10))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.tf_ready)
        monkeypatch.setattr(lab, "run_experiment", diverges)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.lab.phase == "diverged", timeout=10)
        assert "diverged: loss became nan at epoch 2: try a lower learning rate" in status(app)
        assert not app.query_one(ConfigForm).disabled


async def test_tensorflow_failing_to_load_is_explained(monkeypatch) -> None:
    import tui_echo.app as app_module

    def broken():
        raise ImportError("libcudart.so.12: cannot open shared object file")

    monkeypatch.setattr(app_module.runtime, "load", broken)
    app = EchoApp(config=Config(epochs=20))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: bool(app.tf_failed), timeout=10)
        assert "TensorFlow could not be loaded: ImportError: libcudart" in status(app)
        await pilot.press("ctrl+r")
        assert app.lab.phase == "idle"


async def test_80x24_keeps_every_essential_pane_and_m_shows_the_summary() -> None:
    app = EchoApp(config=Config(topology="many-to-one", epochs=20))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.query_one(SummaryPane).border_subtitle == "170 params")
        text = screen_text(app)
        for title in ("Settings", "Predictions", "Loss (log scale)", "Epochs · loss", "170 params"):
            assert title in text, title
        app.query_one(LossChart).focus()
        await pilot.press("m")
        assert "(5 + 1) × 5 = 30" in screen_text(app)
        await pilot.press("z")  # zoom the curve to the whole lab, keys still shown
        assert app.screen.maximized is app.query_one(LossChart)
        assert "Zoom" in [line for line in screen_text(app).splitlines() if line.strip()][-1]
        await pilot.press("z")
        assert app.screen.maximized is None


async def test_the_status_line_repaints_a_new_state_at_once_and_a_changing_text_once_a_second() -> None:
    from textual.app import App

    from tui_echo.widgets import status_bar

    class One(App[None]):
        def compose(self):
            yield StatusBar(id="status")

    app = One()
    async with app.run_test(size=(60, 3)) as pilot:
        bar = app.query_one(StatusBar)
        painted: list[str] = []
        real = bar.refresh
        bar.refresh = lambda *a, **k: (painted.append(bar.text), real(*a, **k))[1]
        bar.show("training", "epoch 1")
        for epoch in range(2, 6):  # a batch every few ms: one repaint, then the latest text later
            bar.show("training", f"epoch {epoch}")
        await pilot.pause()
        assert len(painted) == 1
        await wait_for(pilot, lambda: len(painted) == 2, timeout=status_bar.REPAINT_EVERY_S + 2)
        assert painted[-1] == "epoch 5"
        await pilot.pause(0.2)
        assert len(painted) == 2  # nothing new, no repaint
        bar.show("paused", "paused at epoch 5")  # a new state: in the next frame
        await pilot.pause()
        assert painted[2:] == ["paused at epoch 5"]


def test_the_epoch_log_follows_the_end_until_scrolled_up() -> None:
    log = EpochLog()
    log.add_notes(["start"])
    log.add_epochs([0.5, 0.25, 0.125])
    log.add_notes(["done"])
    assert log.lines == ["start", "     1 5.0000e-01", "     2 2.5000e-01", "     3 1.2500e-01", "done"]
    assert log.top is None  # following the end


# ----------------------------------------------------------------------------- plumbing


def test_batcher_sends_few_ordered_batches_and_nothing_is_left_behind() -> None:
    batches: list[list] = []
    lock = threading.Lock()

    def send(events: list) -> None:
        with lock:
            batches.append(events)

    batcher = Batcher(send, interval=0.05)
    for i in range(20_000):
        batcher(i)
    time.sleep(0.15)  # the timer sends what is held
    sent = [e for batch in batches for e in batch]
    assert sent == list(range(20_000))
    assert len(batches) <= 5


def test_a_terminal_run_uses_the_driver_that_acts_on_escape_promptly() -> None:
    from tui_echo.driver import PromptEscapeDriver

    if sys.platform.startswith("linux") or sys.platform == "darwin":
        assert EchoApp(load_tensorflow=False).driver_class is PromptEscapeDriver
    assert "ESCDELAY" in os.environ  # set by the app module (15 ms) before Textual reads it


def test_the_app_module_does_not_import_tensorflow() -> None:
    code = "import sys, tui_echo.app; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------------------------- a real terminal


class Terminal:
    """``tui-echo`` in a pseudo-terminal, its output collected by a thread."""

    def __init__(self, *args: str, size: tuple[int, int] = SIZE) -> None:
        import fcntl
        import pty
        import struct
        import termios

        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        # Not inherited: TensorFlow log settings (the program must quieten TensorFlow itself;
        # loading it in this process sets them) and sizes that would override the pty's.
        drop = ("TF_CPP_MIN_LOG_LEVEL", "TF_CPP_MAX_VLOG_LEVEL", "COLUMNS", "LINES")
        env = {k: v for k, v in os.environ.items() if k not in drop}
        env.update(TERM="xterm-256color", COLORTERM="truecolor")
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tui_echo", *args], stdin=slave, stdout=slave, stderr=slave,
            env=env, start_new_session=True,
        )
        os.close(slave)
        self.output = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.output.extend(chunk)

    def wait_for(self, text: bytes, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError(f"{text!r} never appeared (exit {self.process.poll()})")
            time.sleep(0.01)

    def send(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        os.close(self.master)


@pytest.mark.parametrize("moment", [b"training epoch", b"loading TensorFlow"])
def test_ctrl_q_quits_within_a_second_even_mid_training(moment: bytes) -> None:
    terminal = Terminal("--epochs", str(LONG))
    try:
        if moment == b"training epoch":
            terminal.wait_for(b"Settings")
            terminal.send(b"\x12")  # ctrl+r
        terminal.wait_for(moment, timeout=60)
        asked = time.monotonic()
        terminal.send(b"\x11")  # ctrl+q
        terminal.process.wait(timeout=10)
        took = time.monotonic() - asked
        assert took < 1.0, f"quit took {took:.2f} s"
        stray = [s for s in (b"oneDNN", b"WARNING", b"Traceback", b"I0000", b"W0000") if s in terminal.output]
        assert not stray, stray
    finally:
        terminal.close()


async def test_quitting_mid_training_saves_the_run_as_stopped(tmp_path) -> None:
    from tui_echo.core.runs import RunStore

    app = EchoApp(config=Config(topology="many-to-many", epochs=LONG))
    app.run_store = RunStore(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.tf_ready)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.lab.phase == "training" and len(app.lab.history) > 10)
        await pilot.press("ctrl+q")
    [run] = app.run_store.list()
    assert run.status == "stopped" and 10 < run.epochs < LONG


async def test_results_of_earlier_settings_are_marked_as_such() -> None:
    app = EchoApp(config=Config(topology="many-to-many", epochs=20))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.tf_ready)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.lab.phase == "finished", what="finished")
        table = app.lab.query_one(PredictionTable)
        assert "earlier settings" not in table.border_subtitle and "changed" not in status(app)
        field = app.lab.query_one("#field-lr", Input)
        field.focus()
        await pilot.press("0", ".", "0", "1")
        await pilot.pause()
        assert "earlier settings" in table.border_subtitle and "settings changed since" in status(app)
        await pilot.press("backspace", "backspace", "backspace", "backspace")
        await pilot.pause()
        assert "earlier settings" not in table.border_subtitle and "changed" not in status(app)


async def test_momentum_shows_for_the_optimizers_that_read_it() -> None:
    from textual.widgets import Select

    app = EchoApp(config=Config(topology="many-to-many", epochs=5), load_tensorflow=False)
    async with app.run_test(size=SIZE) as pilot:
        form = app.query_one(ConfigForm)
        momentum = app.query_one("#field-momentum", Input)
        await pilot.pause()
        assert not momentum.display  # Adam has no momentum
        momentum.value = "2"  # hidden: a stale value there cannot block a run
        await pilot.pause()
        assert form.errors == {}
        app.query_one("#field-optimizer", Select).value = "sgd"
        await wait_for(pilot, lambda: momentum.display, what="the momentum field")
        assert form.errors == {"momentum": "momentum must be a number from 0 to 0.99 (got '2')"}
        momentum.value = "0.9"
        await pilot.pause()
        assert form.errors == {} and (form.config.optimizer, form.config.momentum) == ("sgd", 0.9)


@pytest.mark.parametrize("width", [40, 60, 200])
async def test_the_key_bar_shows_keys_whole_and_keeps_help(width: int) -> None:
    from tui_echo.widgets.key_bar import KeyBar

    app = EchoApp(config=Config(), load_tensorflow=False)
    async with app.run_test(size=(width, 20)):
        bar = app.screen.query_one(KeyBar)
        entries = [f"{display} {description}" for _, display, description, _ in bar.entries()]
        shown = [chunk.strip() for chunk in bar.render().plain.split("  ") if chunk.strip()]
        shown = [chunk for chunk in shown if chunk != "^p palette"]
        assert set(shown) <= set(entries)  # no key cut part-way
        assert "? Help" in shown
        assert (shown == entries) == (width == 200)  # at 40 and 60 columns some keys are left out
