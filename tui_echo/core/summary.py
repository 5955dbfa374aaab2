"""A model summary as structured rows, read from a built Keras model, and its rich rendering.

Keras' own ``model.summary()`` prints; front ends need data they can lay out, serialise and
compare, so this reads the same facts (layer, type, output shape, params) into dataclasses and
adds each layer's parameter count written out with its real numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from rich.table import Table

from .cells import BY_LAYER


@dataclass(frozen=True)
class LayerRow:
    """One layer as Keras' summary shows it, plus how its parameter count comes about."""

    name: str
    type: str
    output_shape: tuple[int | None, ...]
    params: int
    formula: str  # e.g. "4 × ((1 + 1) × 5 + 5²) = 140"; "" when there is nothing to explain


@dataclass(frozen=True)
class Summary:
    """The rows and totals of one model."""

    model: str
    layers: tuple[LayerRow, ...]
    total: int
    trainable: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _inner(layer: Any) -> Any:
    """The layer a wrapper (TimeDistributed, Bidirectional) applies, or None."""
    return getattr(layer, "forward_layer", None) or getattr(layer, "layer", None)


def _layer_type(layer: Any) -> str:
    inner = _inner(layer)
    name = type(layer).__name__
    return f"{name}({type(inner).__name__})" if inner is not None else name


def _formula(layer: Any) -> str:
    """The parameter count written out with the real numbers, for the layer kinds the lab uses."""
    inner = _inner(layer)
    core = inner or layer
    kind = type(core).__name__
    inputs, params = layer.input.shape[-1], layer.count_params()
    if kind in BY_LAYER:
        text = BY_LAYER[kind].formula(inputs, core.units)
    elif kind == "Dense":
        text = f"({inputs} + 1) × {core.units}"
    else:
        return ""
    if type(layer).__name__ == "Bidirectional":
        text = f"2 × [{text}]"  # a forward and a backward copy
    return f"{text} = {params}"


def summarize(model: Any) -> Summary:
    """Read a built Keras model into a ``Summary``."""
    rows = tuple(
        LayerRow(
            name=layer.name,
            type=_layer_type(layer),
            output_shape=tuple(layer.output.shape),
            params=int(layer.count_params()),
            formula=_formula(layer),
        )
        for layer in model.layers
    )
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    return Summary(model.name, rows, int(model.count_params()), trainable)


def summary_from_record(record: dict[str, Any]) -> Summary:
    """Rebuild a saved run's summary (formulas are not saved, so they come back empty)."""
    rows = tuple(
        LayerRow(r["name"], r["type"], tuple(r["output_shape"]), r["params"], r.get("formula", ""))
        for r in record["layers"]
    )
    return Summary(record["topology"], rows, sum(r.params for r in rows), record["params"])


def shape_text(shape: tuple[int | None, ...]) -> str:
    """Keras' way of writing a shape: ``(None, 5, 1)``."""
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def render(summary: Summary, *, formulas: bool = True) -> Table:
    """A rich table laid out like Keras' ``model.summary()``, with totals and formulas below."""
    table = Table(title=f"Model: {summary.model}", title_justify="left", expand=False)
    table.add_column("Layer (type)", no_wrap=True)
    table.add_column("Output Shape", no_wrap=True)
    table.add_column("Param #", justify="right")
    for row in summary.layers:
        table.add_row(f"{row.name} ({row.type})", shape_text(row.output_shape), f"{row.params:,}")
    caption = [f"Total params: {summary.total:,}   Trainable: {summary.trainable:,}"]
    if formulas:
        caption += [f"{row.name}: {row.formula}" for row in summary.layers if row.formula]
    table.caption = "\n".join(caption)
    table.caption_justify = "left"
    return table
