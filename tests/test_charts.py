"""The charts' keys and drawing, without TensorFlow: scale, smoothing, zoom, cursor, big noisy runs."""

from __future__ import annotations

import numpy as np
from textual.app import App, ComposeResult

from tui_echo.ascii import to_ascii
from tui_echo.widgets.chart_base import axis_span
from tui_echo.widgets.loss_chart import LossChart

from test_app import screen_text  # noqa: E402  (tests/ is on sys.path)


class ChartApp(App[None]):
    CSS = "LossChart { height: 1fr; }"

    def compose(self) -> ComposeResult:
        yield LossChart()


def plot_rows(app: App) -> list[str]:
    """The plot's rows, right of the y axis."""
    return [line[6:] for line in screen_text(app).splitlines()[:-1]]


async def test_keys_switch_scale_smoothing_zoom_and_cursor() -> None:
    app = ChartApp()
    async with app.run_test(size=(60, 16)) as pilot:
        chart = app.query_one(LossChart)
        chart.reset(1000)
        chart.extend((0.5 * 0.99 ** np.arange(1000)).tolist())
        chart.focus()
        await pilot.press("l", "full_stop", "plus", "left")
        assert chart.border_title == "Loss (linear scale)"
        assert chart.window == (500, 1000) and chart.cursor is not None and 500 <= chart.cursor < 1000
        assert chart.border_subtitle.startswith(f"epoch {chart.cursor + 1:,}: ")
        assert "smooth 0.6" in chart.border_subtitle and "ep 501-1,000" in chart.border_subtitle
        assert "501" in screen_text(app).splitlines()[-1]  # the x axis starts at the zoomed epoch
        await pilot.press("minus")
        assert chart.window is None
        await pilot.press("0")
        assert (chart.log, chart.smoothing, chart.window, chart.cursor) == (True, 0.0, None, None)


async def test_a_noisy_million_epoch_tail_is_two_edges_not_a_block() -> None:
    app = ChartApp()
    async with app.run_test(size=(60, 20)) as pilot:
        chart = app.query_one(LossChart)
        chart.reset(1_000_000)
        rng = np.random.default_rng(0)
        chart.extend((1e-6 * 10 ** rng.normal(size=1_000_000)).tolist())
        chart.flush()
        await pilot.pause(0.2)
        full = sum(row.count("⣿") for row in plot_rows(app))
        assert full < 30, "\n".join(plot_rows(app))  # filling each column min to max made ~500


def test_the_x_axis_grows_with_the_epochs_seen() -> None:
    assert [axis_span(n, 1000) for n in (0, 3, 37, 600, 1000, 1200)] == [1, 5, 50, 1000, 1000, 1200]


def test_ascii_keeps_every_width() -> None:
    text = "╭─ 5² · ▼ … ✓ ⣿ ━━ 中"
    assert to_ascii(text).isascii() and len(to_ascii(text)) == len(text) + 1  # 中 takes two cells
