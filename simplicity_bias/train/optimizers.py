"""Optimizers as optax chains with coupled L2 weight decay (``g += wd * theta``, as PyTorch does)."""

import optax

from simplicity_bias.validation import ConfigError, check_choice

OPTIMIZERS = ("sgd", "adam", "rmsprop")


def make_optimizer(name: str, learning_rate: float, momentum: float = 0.0,
                   weight_decay: float = 0.0, lr_schedule=None) -> optax.GradientTransformation:
  """Returns the optax transformation; ``lr_schedule`` ({step: factor}) scales the rate piecewise."""
  check_choice("optim.name", name, OPTIMIZERS)
  if learning_rate <= 0:
    raise ConfigError(f"optim.learning_rate={learning_rate} must be > 0.")
  if weight_decay < 0 or momentum < 0:
    raise ConfigError("optim.weight_decay and optim.momentum must be >= 0.")
  lr = learning_rate
  if lr_schedule:
    lr = optax.piecewise_constant_schedule(learning_rate, {int(k): float(v)
                                                           for k, v in lr_schedule.items()})
  if name == "sgd":
    core = optax.sgd(lr, momentum=momentum or None)
  elif name == "adam":
    core = optax.adam(lr)
  else:
    # PyTorch's RMSprop defaults: smoothing 0.99, eps added outside the square root.
    core = optax.rmsprop(lr, decay=0.99, eps=1e-8, eps_in_sqrt=False, momentum=momentum or None)
  if weight_decay:
    return optax.chain(optax.add_decayed_weights(weight_decay), core)
  return core
