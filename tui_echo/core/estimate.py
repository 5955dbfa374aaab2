"""What a training will cost, before it starts: steps, memory and time, by arithmetic on the config.

Nothing here draws the data set, builds a model or imports TensorFlow, so the lab recomputes it on
every settings change (microseconds) and ``tui-echo run --dry-run`` prints it at once.

The time and memory figures are a **calibrated model**, not a probe: per-step cost, tracing and
compile time and the memory factor below were fitted to measurements of the fast engine on a
2-core CPU (``benchmarks/large.py`` prints estimated against actual for each size; at lengths
20-300 and units 32-256 the fitted estimates came within 0.7-1.2x of the measured time and peak RSS). Other machines differ; the figures
are meant to tell a second from an hour and a laptop's memory from a server's, not to the percent.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

from .cells import CELLS
from .config import Config
from .formatting import format_bytes, format_duration

FLOAT = 4  # bytes of a float32
# Fitted on benchmarks/large.py's sizes (graph, 2 CPU cores): seconds per training step =
# STEP_S + TIMESTEP_S x timesteps x layers x directions + MAC_S x batch x timesteps x gates x
# units x (units + inputs) x layers x directions, i.e. a per-call-of-the-cell cost plus the matmuls
# (on Eigen's kernels, which runtime.load chooses: oneDNN's took about half as long).
STEP_S = 2e-4
TIMESTEP_S = 9e-5
MAC_S = 4e-10
XLA_SPEEDUP = 3.0  # XLA against the graph, per step (measured 2-40x; the low end, for big models)
# Tracing and instantiating the graph program, and XLA's compile of it, grow with the recurrence
# (the loop body is traced per layer; XLA compiles it much more slowly).
TRACE_S, TRACE_PER_STEP_S = 0.3, 0.006
XLA_S, XLA_PER_STEP_S = 2.5, 0.06
UNROLLED_TRACE_S = 0.45  # recurrences the engine unrolls (engine.UNROLL_MAX_LENGTH) trace in ~this
# Memory: TensorFlow and Keras loaded with the lab's modules (RSS before any model), the fixed
# cost of tracing a program, and what the compiled loop keeps per (batch row x timestep x gate x
# unit) for the backward pass: measured 36-70 float32s per element on the graph (60 used), far
# more than the ~6 the cell's own intermediates explain (TensorFlow's while-loop gradient stacks).
RUNTIME_BYTES = 620 * 2**20
PROGRAM_BYTES = 60 * 2**20
ACTIVATION_FACTOR = 60
XLA_COMPILE_BYTES = 600 * 2**20  # XLA's compiler at these sizes (measured 290-600 MB)
# Finished and the run record carry every prediction, target and input as Python floats.
RESULT_BYTES_PER_VALUE = 3 * 40


@dataclass(frozen=True)
class Estimate:
    """The cost of one training, before it runs."""

    steps: int  # training steps in all: epochs x steps per epoch
    steps_per_epoch: int
    params: int
    data_bytes: int  # X and y as float32
    model_bytes: int  # weights, gradients and Adam's two moments, float32
    activation_bytes: int  # what the compiled loop keeps for the backward pass of one step
    estimated_peak_bytes: int  # the process's peak resident memory, TensorFlow included
    compile_seconds: float  # tracing the program (and compiling XLA when the run uses it)
    step_seconds: float
    estimated_seconds: float  # the whole training: compiling, every step, validation and the final predictions
    xla: bool  # whether the time assumes XLA (see ``engine.uses_xla``)

    def to_dict(self) -> dict:
        """Plain values, for JSON."""
        return asdict(self)

    def brief(self) -> str:
        """One short phrase for a status line, most wanted first: ``~1m 40s · ~1.2 GB · 20,000 steps``."""
        return f"~{format_duration(self.estimated_seconds)} · ~{format_bytes(self.estimated_peak_bytes)} · {self.steps:,} steps"


def params(config: Config) -> int:
    """The model's trainable parameters, by the cells' formulas (``model.count_params()``; tested)."""
    c = config.resolved()
    directions = 2 if c.bidirectional else 1
    total, inputs = 0, c.shapes[0][-1]
    for _ in range(c.layers):
        total += directions * CELLS[c.cell].params(inputs, c.units)
        inputs = directions * c.units
    outputs = c.shapes[1][-1]  # every head is one Dense on the last axis, as wide as y's
    return total + (inputs + 1) * outputs


def estimate(config: Config, *, xla: bool = False) -> Estimate:
    """What training ``config`` costs; ``xla``: time it as the XLA executable (``engine.uses_xla``)."""
    c = config.resolved()
    (x_shape, y_shape), samples = c.shapes, c.samples
    per_epoch = math.ceil(samples / c.batch_size)
    steps = c.epochs * per_epoch
    count = params(c)
    timesteps, inputs = x_shape[1], x_shape[-1]
    directions = 2 if c.bidirectional else 1
    recurrences = timesteps * c.layers * directions
    gates = CELLS[c.cell].gates
    macs = c.batch_size * recurrences * gates * c.units * (c.units + inputs)
    step_s = STEP_S + TIMESTEP_S * recurrences + MAC_S * macs
    if timesteps <= 16:  # engine.UNROLL_MAX_LENGTH: no loop per timestep
        step_s -= TIMESTEP_S * recurrences / 2
        trace_s = UNROLLED_TRACE_S
    else:
        trace_s = TRACE_S + TRACE_PER_STEP_S * timesteps * c.layers
    compile_s = trace_s
    if xla:
        step_s /= XLA_SPEEDUP
        compile_s += XLA_S + XLA_PER_STEP_S * timesteps * c.layers
    # Validation: a forward pass over the held-out samples each epoch, in batches of batch_size,
    # taken as a third of a training step per batch (no backward pass or update).
    held = c.validation_sequences
    val_x, val_y = c.topology_entry.x_shape(held, c.length), c.topology_entry.y_shape(held, c.length)
    validation_s = c.epochs * math.ceil(val_x[0] / c.batch_size) * step_s / 3 if held else 0.0
    data = FLOAT * (math.prod(x_shape) + math.prod(y_shape) + (math.prod(val_x) + math.prod(val_y) if held else 0))
    model = 4 * FLOAT * count
    activations = FLOAT * c.batch_size * recurrences * gates * c.units
    values = c.sequence_count * c.length
    peak = (
        RUNTIME_BYTES + PROGRAM_BYTES
        + 2 * data  # the numpy arrays and their TensorFlow copies
        + model
        + ACTIVATION_FACTOR * activations
        + (XLA_COMPILE_BYTES if xla else 0)
        + RESULT_BYTES_PER_VALUE * values
    )
    predict_s = MAC_S * samples * recurrences * gates * c.units * (c.units + inputs) / 3  # forward only
    return Estimate(
        steps=steps,
        steps_per_epoch=per_epoch,
        params=count,
        data_bytes=data,
        model_bytes=model,
        activation_bytes=activations,
        estimated_peak_bytes=int(peak),
        compile_seconds=compile_s,
        step_seconds=step_s,
        estimated_seconds=compile_s + steps * step_s + validation_s + predict_s,
        xla=xla,
    )


def available_memory(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """Bytes the machine can give a new process (``MemAvailable``), or None where it cannot tell."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def refusal(config: Config, cost: Estimate, available: int | None) -> str | None:
    """Why ``config`` must not train here (one line, with what to change), or None when it fits."""
    if available is None or cost.estimated_peak_bytes <= available:
        return None
    c = config.resolved()
    if ACTIVATION_FACTOR * cost.activation_bytes >= cost.estimated_peak_bytes / 2:
        change = f"lower --batch-size (now {c.batch_size:,}), --units (now {c.units}) or --length (now {c.length})"
    else:
        change = f"lower --sequences (now {c.sequence_count:,}) or --length (now {c.length})"
    return (
        f"needs ~{format_bytes(cost.estimated_peak_bytes)} of memory and this machine has "
        f"{format_bytes(available)} available: {change}"
    )
