"""The training state reducer: engine events in, phases, counts, rates and status text out."""

from __future__ import annotations

import pytest

from tui_echo.core import progress
from tui_echo.core.events import Cancelled, Compiled, Compiling, Epochs, Failed, Finished, Started, Steps
from tui_echo.core.formatting import format_loss
from tui_echo.core.progress import Phase, RunState


def finished(history: tuple[float, ...]) -> Finished:
    return Finished(history=history, predictions=(), targets=(), inputs=(), wall_s=2.0, compile_s=0.5,
                    epochs_per_s=1000.0)


def run(*events, start: RunState | None = None, step: float = 0.1) -> RunState:
    """Feed events a tenth of a second apart."""
    state = start or progress.begun(1000, ready=True)
    for i, event in enumerate(events):
        state = progress.advance(state, event, now=i * step)
    return state


def test_phases_follow_a_whole_training() -> None:
    state = progress.begun(1000, ready=True)
    assert state.phase == Phase.STARTING == "starting" and state.running
    state = progress.advance(state, Started({}, 1000, "CPU", "fast"), 0.0)
    assert state.phase == Phase.COMPILING
    state = progress.advance(state, Compiling("graph"), 0.0)
    state = progress.advance(state, Compiled(0.4), 0.4)
    assert state.phase == Phase.TRAINING and state.compiled and state.compile_s == 0.4
    state = progress.advance(state, Epochs(1, (0.5, 0.25), 0.1), 0.5)
    assert (state.epoch, state.loss) == (2, 0.25)
    state = progress.advance(state, finished((0.5, 0.25)), 0.6)
    assert state.phase == Phase.SAVING and state.running  # the store still writes
    state = progress.ended(state, "finished")
    assert state.phase == Phase.FINISHED and not state.running and state.phase.ended
    kind, text = progress.status(state)
    assert kind == "finished" and "final loss 2.5000e-01" in text and "2.00 s" in text
    assert "s ·" not in progress.status(state, timings=False)[1]


def test_rate_is_epochs_per_second_of_training_over_the_last_second() -> None:
    state = run(Started({}, 1000, "CPU", "fast"), Compiled(0.0), *(Epochs(i * 100 + 1, (0.1,) * 100, 0) for i in range(20)))
    assert abs(state.rate - 1000.0) < 1e-6  # 100 epochs every 0.1 s
    assert state.window[-1][0] - state.window[0][0] <= progress.RATE_WINDOW_S + 0.1


def test_a_pause_is_not_counted_in_the_rate() -> None:
    state = run(Started({}, 10_000, "CPU", "fast"), Compiled(0.0), Epochs(1, (0.1,) * 100, 0), Epochs(101, (0.1,) * 100, 0))
    state = progress.paused(state)
    assert state.phase == Phase.PAUSED and "space resumes" in progress.status(state)[1]
    state = progress.resumed(state)
    assert state.phase == Phase.TRAINING
    # 60 s later (the pause): 100 more epochs in 0.1 s must read as 1,000 epochs/s, not ~3
    state = progress.advance(state, Epochs(201, (0.1,) * 100, 0), 60.0)
    state = progress.advance(state, Epochs(301, (0.1,) * 100, 0), 60.1)
    assert abs(state.rate - 1000.0) < 1e-6


def test_a_pause_while_compiling_resumes_into_compiling() -> None:
    state = progress.paused(run(Started({}, 10, "CPU", "fast")))
    assert progress.resumed(state).phase == Phase.COMPILING


def test_stop_while_waiting_for_tensorflow_stops_at_once() -> None:
    state = progress.begun(10, ready=False)
    assert state.phase == Phase.WAITING and "loading TensorFlow" in progress.status(state)[1]
    assert progress.stopping(state).phase == Phase.STOPPED
    assert progress.started(state).phase == Phase.STARTING


def test_stopping_then_the_worker_ends_stopped_with_its_epochs() -> None:
    state = run(Started({}, 100, "CPU", "fast"), Compiled(0.0), Epochs(1, (0.3, 0.2), 0))
    state = progress.stopping(state)
    assert state.phase == Phase.STOPPING and progress.stopping(state) == state
    state = progress.advance(state, Cancelled(2, (0.3, 0.2)), 1.0)
    state = progress.ended(state, "stopped")
    assert state.phase == Phase.STOPPED and progress.status(state) == ("stopped", "stopped at epoch 2 of 100 · loss 2.0000e-01")


def test_failures_and_divergence_keep_their_reason() -> None:
    state = run(Started({}, 10, "CPU", "fast"), Failed("ValueError: bad shape"))
    assert progress.ended(state, "failed").failure == "ValueError: bad shape"
    assert progress.status(progress.ended(state, "failed")) == ("failed", "failed: ValueError: bad shape")
    crashed = progress.ended(progress.begun(10, ready=True), None, "OSError: disk full")
    assert crashed.phase == Phase.FAILED and "disk full" in progress.status(crashed)[1]
    diverged = progress.ended(state, "diverged", "loss became nan at epoch 3")
    assert diverged.phase == Phase.DIVERGED and progress.status(diverged) == ("failed", "diverged: loss became nan at epoch 3")


def test_brief_words_for_a_table() -> None:
    assert progress.brief(RunState()) == "queued"
    training = run(Started({}, 5000, "CPU", "fast"), Compiled(0.0), Epochs(1, (0.1,) * 1234, 0))
    assert progress.brief(training) == "epoch 1,234"
    assert progress.brief(progress.ended(training, "finished")) == "done"
    assert progress.brief(progress.ended(training, "stopped")) == "stopped"


def test_losses_read_the_same_everywhere() -> None:
    assert format_loss(1.1102230246251565e-17) == "1.1102e-17"
    assert format_loss(None) == "-" and format_loss(float("nan")) == "nan"


def test_the_status_line_drops_whole_parts_to_fit() -> None:
    from tui_echo.widgets.status_bar import fit_parts

    text = "finished · final loss 2.1701e-05 · 2,000 epochs · 0.83 s"
    assert fit_parts(text, 80) == text
    assert fit_parts(text, 40) == "finished · final loss 2.1701e-05"
    assert fit_parts(text, 5) == "fini…"


def test_long_epochs_show_their_steps_rate_and_eta():
    state = progress.advance(progress.begun(10, ready=True), Started({}, 10, "cpu", "fast"), 0.0)
    state = progress.advance(state, Compiled(5.0), 5.0)  # compile time is kept apart from the rate
    state = progress.advance(state, Steps(1, 250, 1000), 6.0)
    state = progress.advance(state, Steps(1, 750, 1000), 7.0)
    assert state.steps_per_s == pytest.approx(500.0) and state.rate == pytest.approx(0.5)
    assert state.eta_s == pytest.approx((10 - 0.75) / 0.5)
    state = progress.advance(state, Epochs(1, (0.5,), 7.5), 7.5)
    state = progress.advance(state, Steps(2, 250, 1000), 7.5 + 0.5)
    kind, text = progress.status(state)
    assert kind == "training"
    assert text == "training epoch 2 of 10 · step 250 of 1,000 · 500 steps/s · ETA 18 s · loss 5.0000e-01"
    assert progress.status(state, timings=False)[1] == "training epoch 2 of 10 · step 250 of 1,000 · loss 5.0000e-01"
    state = progress.advance(state, Epochs(2, (0.25,), 9.0), 9.0)  # at an epoch's end: no step 0
    assert progress.status(state, timings=False)[1] == "training epoch 2 of 10 · loss 2.5000e-01"


def test_a_pause_is_not_training_time_for_the_eta():
    state = progress.advance(progress.begun(4, ready=True), Compiled(0.0), 0.0)
    state = progress.advance(state, Steps(1, 100, 400), 1.0)
    state = progress.resumed(progress.paused(state))  # an hour away: a fresh window
    state = progress.advance(state, Steps(1, 200, 400), 3600.0)
    state = progress.advance(state, Steps(1, 300, 400), 3600.5)
    assert state.steps_per_s == pytest.approx(200.0)  # the paused hour is not in it
    assert progress.status(state)[1].endswith("ETA 6.5 s")
