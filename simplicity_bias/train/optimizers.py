"""Optimizers as optax chains with coupled L2 weight decay (``g += wd * theta``, as PyTorch does)."""

import math

import optax

from simplicity_bias.validation import ConfigError, check_choice

OPTIMIZERS = ("sgd", "adam", "rmsprop")


def make_optimizer(name: str, learning_rate: float, momentum: float = 0.0,
                   weight_decay: float = 0.0, lr_schedule=None) -> optax.GradientTransformation:
  """Returns the optax transformation; ``lr_schedule`` ({step: factor}) scales the rate piecewise."""
  check_choice("optim.name", name, OPTIMIZERS)
  if not learning_rate > 0 or not math.isfinite(learning_rate):
    raise ConfigError(f"optim.learning_rate={learning_rate} must be a finite number > 0.")
  for field, value in (("weight_decay", weight_decay), ("momentum", momentum)):
    if not value >= 0 or not math.isfinite(value):
      raise ConfigError(f"optim.{field}={value} must be a finite number >= 0.")
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
