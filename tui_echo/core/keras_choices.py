"""Keras' own optimizers, losses and early stopping, made from a config the same way for every engine.

``fit`` gets them as a person would write them; the fast engine gets the same classes, the
optimizer made stateless (``stateless_optimizer``) so its update runs on tensors inside the
compiled loop; the exported script gets their source text. One table per choice, so the three
cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from . import runtime
from .config import Config

OPTIMIZER_CLASSES = {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop", "adamw": "AdamW"}
USES_MOMENTUM = frozenset({"sgd", "rmsprop"})
LOSS_CLASSES = {"mse": "MeanSquaredError", "mae": "MeanAbsoluteError", "huber": "Huber"}

# What Keras' TensorFlow optimizer mixin (``keras/src/backend/tensorflow/optimizer.py``) overrides in
# ``BaseOptimizer``, all for tf.distribute. The first group is put back to the backend-neutral code
# by ``stateless_optimizer`` (TensorFlow's refuses ``stateless_apply``, and its assigns write to the
# tf.Variable, past Keras' stateless scope); the rest is never reached here (no colocation, EMA,
# gradient accumulation or clipping). ``tests/test_keras_choices.py`` fails when a Keras upgrade
# changes this list: then re-check that the backend-neutral code still does the same arithmetic.
NEUTRAL_METHODS = (
    "stateless_apply", "assign", "assign_add", "assign_sub", "_var_key", "_apply_weight_decay", "_backend_update_step",
)
UNUSED_TF_METHODS = (
    "add_variable_from_reference", "_distributed_tf_update_step", "_all_reduce_sum_gradients",
    "_overwrite_model_variables_with_average_value", "_backend_increment_gradient_accumulators", "_clip_by_norm",
)


def monitor(config: Config) -> str:
    """What early stopping watches: the validation loss when the run has validation data."""
    return "val_loss" if config.validation is not None else "loss"


def optimizer_arguments(config: Config) -> dict[str, float]:
    """The optimizer's arguments: the learning rate, and momentum where the optimizer has one."""
    config = config.resolved()
    arguments = {"learning_rate": config.lr}
    if config.optimizer in USES_MOMENTUM:
        arguments["momentum"] = config.momentum
    return arguments


def optimizer(config: Config) -> Any:
    """The Keras optimizer ``fit`` uses for ``config``."""
    _, keras = runtime.load()
    return getattr(keras.optimizers, OPTIMIZER_CLASSES[config.optimizer])(**optimizer_arguments(config))


def stateless_optimizer(config: Config) -> Any:
    """The same optimizer with Keras' backend-neutral update code, so ``stateless_apply`` runs it on
    tensors (the update per element is the same code, so the arithmetic is ``fit``'s)."""
    _, keras = runtime.load()
    from keras.src.optimizers.base_optimizer import BaseOptimizer

    cls = getattr(keras.optimizers, OPTIMIZER_CLASSES[config.optimizer])
    neutral = type(f"Stateless{cls.__name__}", (cls,), {name: getattr(BaseOptimizer, name) for name in NEUTRAL_METHODS})
    return neutral(**optimizer_arguments(config))


def loss(config: Config, per_sample: bool = False) -> Any:
    """The Keras loss for ``config``: averaged over the batch as ``fit`` does, or (``per_sample``)
    one value per sample (averaged over the last axis only)."""
    _, keras = runtime.load()
    cls = getattr(keras.losses, LOSS_CLASSES[config.loss])
    return cls(reduction=None) if per_sample else cls()


def early_stopping(config: Config) -> Any:
    """Keras' EarlyStopping for ``config`` (None without ``patience``)."""
    if config.patience is None:
        return None
    _, keras = runtime.load()
    return keras.callbacks.EarlyStopping(monitor=monitor(config), patience=config.patience, restore_best_weights=True)


def optimizer_code(config: Config) -> str:
    """The optimizer as source text, for the exported script."""
    arguments = ", ".join(f"{name}={value!r}" for name, value in optimizer_arguments(config).items())
    return f"keras.optimizers.{OPTIMIZER_CLASSES[config.optimizer]}({arguments})"


def loss_code(config: Config) -> str:
    """The loss as source text, for the exported script."""
    return f"keras.losses.{LOSS_CLASSES[config.loss]}()"


def early_stopping_code(config: Config) -> str | None:
    """The EarlyStopping callback as source text (None without ``patience``)."""
    if config.patience is None:
        return None
    return (
        f"keras.callbacks.EarlyStopping(monitor={monitor(config)!r}, patience={config.patience}, "
        "restore_best_weights=True)"
    )
