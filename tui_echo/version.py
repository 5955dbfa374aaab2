"""The package version, in a module of its own so that modules ``tui_echo/__init__.py`` loads
lazily (the Keras callback) can read it without an import cycle."""

__version__ = "0.1.0"
