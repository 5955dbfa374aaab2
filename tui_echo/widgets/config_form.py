"""The settings pane: topology, sizes, learning rate, seed and engine, checked as they are typed.

Every field is checked with the core's own rules (``core.config``), so the message under a bad
field is the same one the CLI prints, naming the allowed range. Empty fields mean "the default",
which each field shows as its placeholder.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label, RadioButton, RadioSet, Select, Static

from ..core.config import RULES, Config, ConfigError
from ..core.topologies import TOPOLOGIES

# field -> label, in the order they are shown (topology and engine are choices, not inputs)
FIELDS = {
    "length": "length",
    "units": "units",
    "epochs": "epochs",
    "batch_size": "batch",
    "lr": "lr",
    "seed": "seed",
}
LABELS = {**FIELDS, "batch_size": "batch size", "lr": "learning rate", "topology": "topology", "engine": "engine"}
NAMES = tuple(TOPOLOGIES)


def validate(values: dict[str, str | bool | int | None]) -> tuple[Config | None, dict[str, str]]:
    """Check raw form values; return the Config (or None) and a message per refused field.

    Empty strings mean "default". Messages read "<label> must be ... (got ...)".
    """
    errors: dict[str, str] = {}
    given = {name: value for name, value in values.items() if value not in ("", None)}
    for name, value in given.items():
        if name in RULES:
            try:
                RULES[name].parse(name, value)
            except ConfigError as error:
                errors[name] = f"{LABELS.get(name, name)} {error.reason}"
    shaping = {"topology", "task", "length", "sequences", "delay"}  # what the sample count depends on
    if "batch_size" in given and "batch_size" not in errors and not errors.keys() & shaping:
        # Its range depends on the other settings: check it against the ones that are valid.
        context = {k: v for k, v in given.items() if k not in errors}
        try:
            Config.from_fields(context)
        except ConfigError as error:
            errors.setdefault(error.field, f"{LABELS.get(error.field, error.field)} {error.reason}")
        except Exception:
            pass  # reported below, once the other fields are fixed
    if errors:
        return None, errors
    try:
        return Config.from_fields(given), {}
    except ConfigError as error:
        return None, {error.field: f"{LABELS.get(error.field, error.field)} {error.reason}"}
    except Exception as error:  # never let a form value crash the app
        return None, {"form": f"{type(error).__name__}: {error}"}


class ConfigForm(VerticalScroll, can_focus=False):
    """Topology choice plus one compact input per setting, each with its own inline message."""

    @dataclass
    class Changed(Message):
        """The settings changed: ``config`` is None while ``errors`` is not empty."""

        form: "ConfigForm"
        config: Config | None
        errors: dict[str, str]

    def __init__(self, config: Config, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._initial = config
        self.config: Config | None = config
        self.errors: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        """Radio buttons for the topology, then a row per setting and a hidden message under each."""
        config = self._initial
        with RadioSet(id="topology"):
            for index, name in enumerate(NAMES, start=1):
                yield RadioButton(name, value=name == config.topology, id=f"topology-{name}", tooltip=f"key {index}")
        yield Static(Text(TOPOLOGIES[config.topology].explanation), id="topology-help", classes="hint")
        # One grid for every row (label, field; a message under a bad field spans both):
        # fewer containers make the pane cheaper to repaint.
        with Grid(id="fields"):
            for name, label in FIELDS.items():
                value = getattr(config, name)
                shown = "" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))
                yield Label(label, classes="field-label")
                yield Input(shown, id=f"field-{name}", compact=True, select_on_focus=True, tooltip=self._range(name))
                yield Static("", id=f"error-{name}", classes="field-error")
            yield Label("engine", classes="field-label")
            yield Select(
                [("fast", "fast"), ("fit", "fit")],
                value=config.engine,
                allow_blank=False,
                compact=True,
                id="field-engine",
                tooltip="fast: many epochs per compiled call; fit: Keras' model.fit, the reference",
            )
        yield Static("", id="error-form", classes="field-error")

    @staticmethod
    def _range(name: str) -> str:
        """The allowed range of a field, for its tooltip."""
        ranges = {
            "length": "sequence length, 1 to 1,000",
            "units": "LSTM units, 1 to 1,024 (empty: the length)",
            "epochs": "1 to 1,000,000 (empty: the topology's tutorial value)",
            "batch_size": "1 to the number of samples (empty: the tutorial's)",
            "lr": "Adam learning rate, above 0 and at most 10",
            "seed": "0 to 2,147,483,647",
        }
        return ranges[name]

    def on_mount(self) -> None:
        """Show the defaults as placeholders and check the starting values."""
        self.border_title = "Settings"
        self.border_subtitle = "1–4 topology"
        # Start the radio cursor on the chosen topology, not on the first one.
        self.query_one(RadioSet)._selected = NAMES.index(self._initial.topology)
        self._check()

    # ----------------------------------------------------------------- values

    @property
    def topology(self) -> str:
        """The chosen topology's name."""
        pressed = self.query_one(RadioSet).pressed_button
        return pressed.id.removeprefix("topology-") if pressed is not None and pressed.id else self._initial.topology

    def values(self) -> dict[str, str | bool | int | float | None]:
        """Raw values as typed, plus every setting the form does not show, as the app was given it."""
        values: dict[str, str | bool | int | float | None] = {
            field.name: getattr(self._initial, field.name) for field in fields(Config)
        }
        values["topology"] = self.topology
        values["engine"] = str(self.query_one("#field-engine", Select).value)
        for name in FIELDS:
            values[name] = self.query_one(f"#field-{name}", Input).value.strip()
        return values

    def select_topology(self, name: str) -> None:
        """Choose a topology as if its radio button had been pressed."""
        self.query_one(f"#topology-{name}", RadioButton).value = True

    def reset(self, config: Config) -> None:
        """Put every field back to ``config``'s values."""
        self.select_topology(config.topology)
        for name in FIELDS:
            value = getattr(config, name)
            shown = "" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))
            self.query_one(f"#field-{name}", Input).value = shown
        self.query_one("#field-engine", Select).value = config.engine

    def focus_field(self, name: str) -> None:
        """Move the cursor to a field (the topology list for ``topology``)."""
        target = self.query(f"#field-{name}")
        (target.first() if target else self.query_one(RadioSet)).focus()

    # ----------------------------------------------------------------- checking

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        """A topology was chosen: show its explanation and recheck."""
        event.stop()
        self.query_one("#topology-help", Static).update(Text(TOPOLOGIES[self.topology].explanation))
        self._check()

    def on_input_changed(self, event: Input.Changed) -> None:
        """A field was edited: recheck everything."""
        event.stop()
        self._check()

    def on_select_changed(self, event: Select.Changed) -> None:
        """The engine was chosen: recheck."""
        event.stop()
        self._check()

    def _check(self) -> None:
        """Validate, update placeholders and inline messages, and tell the screen."""
        values = self.values()
        config, errors = validate(values)
        self._placeholders(values, errors)
        for name in (*FIELDS, "form"):
            message = self.query_one(f"#error-{name}", Static)
            text = errors.get(name, "")
            message.update(Text(f"⚠ {text}" if text else ""))
            message.display = bool(text)
            if name != "form":
                self.query_one(f"#field-{name}", Input).set_class(bool(text), "-invalid")
        unplaced = {k: v for k, v in errors.items() if k not in FIELDS}
        if unplaced.keys() - {"form"}:
            message = self.query_one("#error-form", Static)
            message.update(Text("\n".join(f"⚠ {text}" for text in unplaced.values())))
            message.display = True
        self.config, self.errors = config, errors
        self.post_message(self.Changed(self, config, errors))

    def _placeholders(self, values: dict, errors: dict[str, str]) -> None:
        """Each empty field shows the default it stands for."""
        topology = TOPOLOGIES[self.topology]
        length = values["length"] if values["length"] and "length" not in errors else "5"
        try:
            samples = Config(topology=self.topology, task=self._initial.task, length=int(length),
                             sequences=self._initial.sequences).problem.samples
            batch = str(topology.default_batch(samples))
        except Exception:
            batch = "tutorial"
        try:
            default_lr = f"{Config(topology=self.topology, task=self._initial.task).resolved().lr:g}"
        except Exception:
            default_lr = "default"
        hints = {
            "length": "5",
            "units": f"{length} (= length)",
            "epochs": f"{topology.default_epochs} (tutorial)",
            "batch_size": f"{batch} (tutorial)",
            "lr": default_lr,
            "seed": "0",
        }
        for name, hint in hints.items():
            self.query_one(f"#field-{name}", Input).placeholder = hint
