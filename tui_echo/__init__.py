"""tui-echo: a terminal lab for Keras LSTM topologies."""

__version__ = "0.1.0"
