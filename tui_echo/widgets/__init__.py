"""The lab's panes, one module each."""

from .config_form import ConfigForm
from .epoch_log import EpochLog
from .key_bar import KeyBar
from .loss_chart import LossChart
from .prediction_table import PredictionTable
from .status_bar import StatusBar
from .summary_pane import SummaryPane

__all__ = ["ConfigForm", "EpochLog", "KeyBar", "LossChart", "PredictionTable", "StatusBar", "SummaryPane"]
