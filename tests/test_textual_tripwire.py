"""A tripwire for Textual upgrades: our code copies or overrides these pieces of Textual's source.

``tui_echo/driver.py`` is Textual's ``LinuxDriver.run_input_thread`` with one change and reads the
parser's private ``_timeout_time``; ``tui_echo/screens/base.py`` (``LeanScreen``) overrides
``Screen.is_current`` and redeclares ``Screen.focused``. If any of them changes upstream, this test
fails, naming the file to re-check against the new source; then update the hash below.
"""

from __future__ import annotations

import hashlib
import inspect

import pytest
import textual
from textual import _parser
from textual.drivers.linux_driver import LinuxDriver
from textual.screen import Screen


def _focused_declaration() -> str:
    source = inspect.getsource(Screen)
    start = source.index("    focused: Reactive")
    return source[start: source.index("\n", source.index('"""', source.index('"""', start) + 3))]


WATCHED = {
    # what Textual defines: (how to read its source, our file to re-check)
    "LinuxDriver.run_input_thread": (lambda: inspect.getsource(LinuxDriver.run_input_thread),
                                     "tui_echo/driver.py"),
    "Parser (its _timeout_time)": (lambda: inspect.getsource(_parser.Parser), "tui_echo/driver.py"),
    "Screen.is_current": (lambda: inspect.getsource(Screen.is_current.fget), "tui_echo/screens/base.py"),
    "Screen.focused": (_focused_declaration, "tui_echo/screens/base.py"),
}
HASHES = {  # sha256 of each source at textual 8.2.8
    "LinuxDriver.run_input_thread": "d796af6d69db337d6fa6bd463984f7d17188d991dbb22f60efb92a8a9619507c",
    "Parser (its _timeout_time)": "5e97a0be1bb0845595f48519a97c8098714f9cd5f9ea23b1422b5a7e51105f49",
    "Screen.is_current": "a5de932fa47c5f24480d5662edd50504eade7a33839db16985a37a7c4a24c8c6",
    "Screen.focused": "ad6175d49edfa4c1fe423afe772b5da18afeb9ab8b47d14abf1d13fa60ddf1e6",
}


@pytest.mark.parametrize("name", WATCHED)
def test_textual_source_we_depend_on_is_unchanged(name: str) -> None:
    read, ours = WATCHED[name]
    digest = hashlib.sha256(read().encode()).hexdigest()
    assert digest == HASHES[name], (
        f"Textual {textual.__version__} changed {name}: re-check {ours} against its new source, "
        f"then set its hash in tests/test_textual_tripwire.py to {digest}"
    )
