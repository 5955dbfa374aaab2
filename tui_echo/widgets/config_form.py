"""The settings pane: topology, task, network, training settings, checked as they are typed.

Every field is checked with the core's own rules (``core.config``), so the message under a bad
field is the same one the CLI prints, naming the allowed range. Empty fields mean "the default",
which each field shows as its placeholder.

A CSV file is never parsed here: a file that ``csvdata`` has not cached yet (a ``stat`` tells) is
read by a background job while the data field says "reading FILE…"; once read, the form checks
again, now from the cache. A newer path stops an older read, whose result is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.message import Message
from textual.widgets import Checkbox, Input, Label, RadioButton, RadioSet, Select, Static

from ..core import csvdata
from ..core.config import RULES, Config, ConfigError
from ..core.rules import Choice
from ..core.settings import BY_NAME, SETTINGS
from ..core.tasks import TASKS
from ..core.topologies import TOPOLOGIES
from ..messages import JobDone
from ..training import Job, TrainingService, read_files

# Every setting the pane shows, in the spec's order (the topology has its own radio list above).
ROWS = tuple(s for s in SETTINGS if s.form in ("input", "choice", "flag"))
FIELDS = tuple(s.name for s in ROWS if s.form == "input")
CHOICES = {s.name: s.rule.options for s in ROWS if s.form == "choice" and isinstance(s.rule, Choice)}
NAMES = tuple(TOPOLOGIES)


def _shown(value: object) -> str:
    return "" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))


def _named(field: str) -> str:
    """How a message names a setting: its title, else its label."""
    return BY_NAME[field].message_name if field in BY_NAME else field


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
                errors[name] = f"{_named(name)} {error.reason}"
    # what the sample count depends on
    shaping = {"topology", "task", "length", "sequences", "delay", "data", "columns", "target", "validation"}
    if "batch_size" in given and "batch_size" not in errors and not errors.keys() & shaping:
        # Its range depends on the other settings: check it against the ones that are valid.
        context = {k: v for k, v in given.items() if k not in errors}
        try:
            Config.from_fields(context)
        except ConfigError as error:
            errors.setdefault(error.field, f"{_named(error.field)} {error.reason}")
        except Exception:
            pass  # reported below, once the other fields are fixed
    if errors:
        return None, errors
    try:
        return Config.from_fields(given), {}
    except ConfigError as error:
        return None, {error.field: f"{_named(error.field)} {error.reason}"}
    except Exception as error:  # never let a form value crash the app
        return None, {"form": f"{type(error).__name__}: {error}"}


class ConfigForm(VerticalScroll, can_focus=False):
    """Topology choice plus one compact input per setting, each with its own inline message."""

    BINDINGS = [
        Binding("escape", "leave", "Leave settings", id="leave-settings",
                tooltip="Leave the settings: focus goes to the next pane, so single-letter keys work again"),
    ]

    @dataclass
    class Changed(Message):
        """The settings changed: ``config`` is None while ``errors`` is not empty."""

        form: "ConfigForm"
        config: Config | None
        errors: dict[str, str]

    def __init__(self, config: Config, training: TrainingService, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._initial = config
        self._training = training
        self.config: Config | None = config
        self.errors: dict[str, str] = {}
        self.reading: str | None = None  # the data file being read in the background
        self._read: Job | None = None
        self._unreadable: tuple[str, str] | None = None  # (path, why) when a read failed unexpectedly

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
            for setting in ROWS:
                name, kind = setting.name, setting.form
                yield Label(setting.label, classes="field-label", id=f"label-{name}")
                value, tip, id = getattr(config, name), setting.help, f"field-{name}"
                if kind == "input":
                    yield Input(_shown(value), id=id, compact=True, select_on_focus=True, tooltip=tip)
                    yield Static("", id=f"error-{name}", classes="field-error")
                elif kind == "choice":
                    options = [(choice, choice) for choice in CHOICES[name]]
                    yield Select(options, value=value, allow_blank=False, compact=True, id=id, tooltip=tip)
                else:
                    yield Checkbox("", value=bool(value), compact=True, id=id, tooltip=tip)
        yield Static(Text(TASKS[config.task].description), id="task-help", classes="hint")
        yield Static("", id="error-form", classes="field-error")

    def on_mount(self) -> None:
        """Show the defaults as placeholders and check the starting values."""
        self._toggles()
        self.border_title = "Settings"
        self.border_subtitle = "1-4 topology"
        # Start the radio cursor on the chosen topology, not on the first one.
        self.query_one(RadioSet)._selected = NAMES.index(self._initial.topology)
        self._check()

    def _toggles(self) -> None:
        """"(●)"/"( )" and "[X]"/"[ ]" ("(*)" with ``--ascii``) instead of Textual's block glyphs,
        which tell on from off by colour alone: a monochrome terminal or a colour-blind eye lost it."""
        dot = "*" if getattr(self.app, "ascii_only", False) else "●"
        for radio in self.query(RadioButton):
            radio.BUTTON_LEFT, radio.BUTTON_INNER, radio.BUTTON_RIGHT = "(", dot if radio.value else " ", ")"
            radio.refresh()
        for box in self.query(Checkbox):
            box.BUTTON_LEFT, box.BUTTON_INNER, box.BUTTON_RIGHT = "[", "X" if box.value else " ", "]"
            box.refresh()

    def action_leave(self) -> None:
        """Focus the first pane after the settings (a typed ``c`` then compares, not types)."""
        outside = [w for w in self.screen.focus_chain if self not in w.ancestors_with_self]
        self.screen.set_focus(outside[0] if outside else None)

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
        task = TASKS[str(self.query_one("#field-task", Select).value)]
        for setting in ROWS:
            name = setting.name
            if setting.form == "choice":
                values[name] = str(self.query_one(f"#field-{name}", Select).value)
            elif setting.form == "flag":
                values[name] = self.query_one(f"#field-{name}", Checkbox).value
            else:
                values[name] = self.query_one(f"#field-{name}", Input).value.strip()
        # Judged on every typed value (momentum reads the optimizer, wherever its row stands):
        # hidden where it does not apply, so a stale value there cannot block training; an
        # optional one is left to its default (a file is for the csv task only).
        hidden = [setting for setting in ROWS if not setting.applies(task, values)]
        for setting in hidden:
            values[setting.name] = None if setting.optional else getattr(self._initial, setting.name)
        return values

    def select_topology(self, name: str) -> None:
        """Choose a topology as if its radio button had been pressed."""
        self.query_one(f"#topology-{name}", RadioButton).value = True

    def reset(self, config: Config) -> None:
        """Put every field back to ``config``'s values."""
        self.select_topology(config.topology)
        for name in FIELDS:
            self.query_one(f"#field-{name}", Input).value = _shown(getattr(config, name))
        for name in CHOICES:
            self.query_one(f"#field-{name}", Select).value = getattr(config, name)
        for setting in ROWS:
            if setting.form == "flag":
                self.query_one(f"#field-{setting.name}", Checkbox).value = getattr(config, setting.name)

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
        """A task, cell or engine was chosen: recheck."""
        event.stop()
        self._check()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        """Bidirectional was toggled: recheck."""
        event.stop()
        self._check()

    def settled(self) -> bool:
        """Whether ``config`` and ``errors`` answer the data file as it is now. False while it is
        read; a file changed since it was checked is read again (in the background) first."""
        path = str(self.values()["data"] or "")
        if self.reading is None and not csvdata.would_parse(path):
            return True
        if self.reading != path:  # not being read yet: start (a check posts Changed, which asks again)
            self._check()
        return False

    def on_job_done(self, message: JobDone) -> None:
        """A read has ended: check again (the file is cached now), unless a newer path replaced it."""
        message.stop()
        if message.job is not self._read:
            return  # a superseded read: stopped, or finished into the cache unasked
        if message.error:  # not a refusal of the file (those are cached): say it, do not retry
            self._unreadable = (self.reading or "", message.error)
        self._read, self.reading = None, None
        self._check()

    def _start_read(self, path: str) -> None:
        """Read ``path`` in a background job (stopping an older read), unless it is being read."""
        if self.reading == path:
            return
        if self._read is not None:
            self._read.stop()
        self._read = self._training.start(self, read_files([path]), group="read", keras=False)
        self.reading = path

    def _stop_read(self) -> None:
        if self._read is not None:
            self._read.stop()
        self._read, self.reading = None, None

    def _check(self) -> None:
        """Validate, update placeholders and inline messages, and tell the screen."""
        values = self.values()
        path = str(values["data"] or "")
        if self._unreadable is not None and self._unreadable[0] != path:
            self._unreadable = None
        if path and csvdata.would_parse(path) and self._unreadable is None:
            # Every other field is checked now; the data and what depends on it once read.
            self._start_read(path)
            config, errors = validate({**values, "data": None})
            errors.pop("data", None)
            config, pending = None, {"data": f"reading {path}…"}
        else:
            self._stop_read()
            config, errors = validate(values)
            pending = {}
            if self._unreadable is not None and csvdata.would_parse(path):
                config, errors = None, {"data": f"{_named('data')} {path}: cannot be read ({self._unreadable[1]})"}
        self._placeholders(values, {**errors, **pending})
        self._toggles()
        task = TASKS[str(values["task"])]
        self.query_one("#task-help", Static).update(Text(task.description))
        for setting in ROWS:  # e.g. the delay matters to the delayed echo only, momentum to sgd and rmsprop
            for part in ("label", "field"):
                self.query_one(f"#{part}-{setting.name}").display = setting.applies(task, values)
        for name in (*FIELDS, "form"):
            message = self.query_one(f"#error-{name}", Static)
            text = errors.get(name, "")
            note = pending.get(name, "")
            message.update(Text(f"⚠ {text}" if text else note))
            message.display = bool(text or note)
            message.set_class(bool(note) and not text, "-pending")
            if text and name != "form" and self.screen.focused is self.query_one(f"#field-{name}"):
                # the message may fall below the pane's fold: scroll to it once it is laid out
                self.call_after_refresh(message.scroll_visible, animate=False)
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
        topology, task = TOPOLOGIES[self.topology], TASKS[str(values["task"])]

        def valid(name: str, default: object) -> object:
            return values[name] if values[name] not in ("", None) and name not in errors else default

        try:
            sizes = Config(
                topology=self.topology, task=task.name, length=int(valid("length", 5)),
                sequences=int(valid("sequences", task.default_sequences)), delay=int(valid("delay", 2)),
                data=valid("data", None), columns=valid("columns", None), target=valid("target", None),
            )
            batch = str(sizes.resolved().batch_size)
        except Exception:  # e.g. a delay the new length no longer allows: its own message says so
            batch = "default"
        hints = {
            "data": "path of a CSV file",
            "columns": "every numeric one",
            "target": "next",
            "delay": "2",
            "sequences": f"{task.default_sequences} (task)",
            "length": "5",
            "units": f"{valid('length', 5)} (= length)",
            "layers": "1",
            "epochs": f"{task.default_epochs or topology.default_epochs} ({'task' if task.default_epochs else 'tutorial'})",
            "batch_size": f"{batch} (default)",
            "lr": f"{task.default_lr:g}",
            "momentum": "0",
            "seed": "0",
            "validation": "none",
            "patience": "off",
        }
        for name, hint in hints.items():
            self.query_one(f"#field-{name}", Input).placeholder = hint
