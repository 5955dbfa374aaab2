"""Which epochs a run keeps its weights at, and the snapshots themselves (numpy only).

A run keeps about ``MAX_SNAPSHOTS`` weight vectors whatever its length: every epoch of the first
``EVERY_EPOCH``, then epochs spaced evenly on a log scale, and always the last. Replay and scrub
move along these; the inside-the-cell view and ``runs show --epoch`` start from them.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MAX_SNAPSHOTS = 200
EVERY_EPOCH = 20
SNAPSHOT_BYTES = 64 * 2**20  # all of a run's snapshots together, float32


def snapshot_count(weights: int, budget: int = SNAPSHOT_BYTES) -> int:
    """How many snapshots a model of ``weights`` float32 numbers keeps: ``MAX_SNAPSHOTS`` unless
    that many would exceed ``budget`` bytes, then as many as fit, but at least the last epoch's
    (a model over the budget on its own keeps only the weights it ends with)."""
    return max(1, min(MAX_SNAPSHOTS, budget // max(1, 4 * weights)))


def snapshot_epochs(total: int, count: int = MAX_SNAPSHOTS) -> list[int]:
    """The 1-based epochs of a ``total``-epoch run to keep, ascending: at most ``count`` of them.

    Every epoch when they fit; otherwise the first ``EVERY_EPOCH`` (fewer when ``count`` is
    small), then each next epoch the same ratio above the previous one as would reach ``total``
    in the points left (at least one epoch later), and ``total`` itself.
    """
    if total < 1 or count < 1:
        return []
    if total <= count:
        return list(range(1, total + 1))
    if count == 1:
        return [total]
    epochs = list(range(1, min(EVERY_EPOCH, count - 1) + 1))
    while len(epochs) < count - 1:
        last, left = epochs[-1], count - len(epochs)
        step = round(last * (total / last) ** (1 / left))
        nxt = max(last + 1, step)
        if nxt >= total:
            break
        epochs.append(nxt)
    epochs.append(total)
    return epochs


@dataclass
class Snapshots:
    """Weights as flat float32 vectors (the model's ``get_weights`` order) at ascending epochs."""

    epochs: list[int] = field(default_factory=list)
    weights: list[np.ndarray] = field(default_factory=list)

    def add(self, epoch: int, flat: np.ndarray) -> None:
        """Keep ``flat`` as epoch ``epoch``'s weights (epochs arrive in order)."""
        self.epochs.append(int(epoch))
        self.weights.append(np.array(flat, np.float32, copy=True).ravel())

    def __len__(self) -> int:
        return len(self.epochs)

    def at_or_before(self, epoch: int) -> int | None:
        """The index of the latest snapshot at or before ``epoch``, or None."""
        index = int(np.searchsorted(np.asarray(self.epochs), epoch, side="right")) - 1
        return index if index >= 0 else None

    def to_bytes(self) -> bytes:
        """``snapshots.npz``: ``epochs`` (int64 [K]) and ``weights`` (float32 [K, n])."""
        buffer = io.BytesIO()
        weights = np.stack(self.weights) if self.weights else np.zeros((0, 0), np.float32)
        np.savez(buffer, epochs=np.asarray(self.epochs, np.int64), weights=weights)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, max_epoch: int) -> "Snapshots":
        """Read ``to_bytes``' output; ValueError unless it is exactly that shape of file
        (no pickled objects, ascending epochs in 1..max_epoch, finite-size float32 rows)."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                if sorted(npz.files) != ["epochs", "weights"]:
                    raise ValueError("unexpected arrays")
                # A compressed member could unpack far beyond the file's own size.
                if sum(info.file_size for info in npz.zip.infolist()) > SNAPSHOT_BYTES + 2**20:
                    raise ValueError("unpacks larger than the snapshot budget")
                epochs, weights = npz["epochs"], npz["weights"]
        except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile) as error:  # not our npz
            raise ValueError(f"snapshots.npz: {error}") from None
        ok = (
            epochs.dtype == np.int64
            and weights.dtype == np.float32
            and epochs.ndim == 1
            and weights.ndim == 2
            and len(epochs) == len(weights) <= MAX_SNAPSHOTS
            and (len(epochs) == 0 or (epochs[0] >= 1 and epochs[-1] <= max_epoch))
            and bool(np.all(np.diff(epochs) > 0))
        )
        if not ok:
            raise ValueError("snapshots.npz: not ascending epochs with one weight vector each")
        return cls([int(e) for e in epochs], list(weights))


def set_flat_weights(model: Any, flat: np.ndarray) -> None:
    """Give ``model`` the weights of one snapshot row (``get_weights`` order, flattened)."""
    shapes = [w.shape for w in model.get_weights()]
    bounds = np.cumsum([0, *(int(np.prod(shape)) for shape in shapes)])
    if bounds[-1] != flat.size:
        raise ValueError(f"a snapshot of {flat.size:,} weights does not fit a model of {bounds[-1]:,}")
    model.set_weights([flat[a:b].reshape(shape) for a, b, shape in zip(bounds[:-1], bounds[1:], shapes)])


def first_sequence_output(config: Any, model: Any) -> tuple[float, ...]:
    """``model``'s predictions for the first sequence, as the engine shows them."""
    problem = config.problem
    rows = problem.samples // problem.inputs.shape[0]  # rows of X that make the first sequence
    return tuple(np.asarray(model(problem.X[:rows], training=False)).reshape(-1)[: problem.inputs.shape[1]].tolist())


def first_sequence_predictions(config: Any, model: Any, snapshots: Snapshots) -> list[tuple[float, ...]]:
    """The first sequence's predictions at every snapshot, in order; ``model`` gets its own
    weights back afterwards. Computed once, so scrubbing is a lookup."""
    own = model.get_weights()
    try:
        shown = []
        for flat in snapshots.weights:
            set_flat_weights(model, flat)
            shown.append(first_sequence_output(config, model))
        return shown
    finally:
        model.set_weights(own)
