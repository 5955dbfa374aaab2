"""The core knows no front end: importing it never loads Textual, and its config never loads TensorFlow."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
import textwrap

import tui_echo.core


def core_modules() -> list[str]:
    """Every module under ``tui_echo.core``, found on disk so new modules are covered too."""
    return sorted(f"tui_echo.core.{m.name}" for m in pkgutil.iter_modules(tui_echo.core.__path__))


def loaded_after_importing(*modules: str) -> set[str]:
    """Top-level packages in ``sys.modules`` of a fresh interpreter after importing ``modules``."""
    script = textwrap.dedent(
        f"""
        import importlib, json, sys
        for name in {list(modules)!r}:
            importlib.import_module(name)
        print(json.dumps(sorted({{name.split(".")[0] for name in sys.modules}})))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


def test_core_has_the_designed_modules():
    names = set(core_modules())
    for expected in ("config", "tasks", "topologies", "engine", "events", "summary", "experiment", "record"):
        assert f"tui_echo.core.{expected}" in names


def test_importing_the_whole_core_leaves_textual_out():
    loaded = loaded_after_importing("tui_echo.core", *core_modules())
    assert "tui_echo" in loaded
    assert "textual" not in loaded
    assert "textual" in loaded_after_importing("textual")  # the check can see Textual when it loads


def test_config_and_the_command_line_parser_do_not_import_tensorflow():
    # Bad values must be refused at once, without waiting seconds for TensorFlow.
    loaded = loaded_after_importing("tui_echo.core.config", "tui_echo.core.tasks", "tui_echo.core.topologies", "tui_echo.__main__")
    assert "tensorflow" not in loaded
    assert "keras" not in loaded
    assert "textual" not in loaded


def test_importing_the_core_does_not_load_tensorflow_until_it_is_needed():
    loaded = loaded_after_importing("tui_echo.core", *core_modules())
    assert "tensorflow" not in loaded
    assert "keras" not in loaded
