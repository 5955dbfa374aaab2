"""Screens: the lab (main), help; compare and runs screens join here."""

from .help import HelpScreen
from .lab import LabScreen

__all__ = ["HelpScreen", "LabScreen"]  # compare, runs, explain: imported where pushed
