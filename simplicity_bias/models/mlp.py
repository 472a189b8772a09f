"""Fully-connected networks for vector data: "(h, L)-FCN" = d -> h -> ... -> h -> classes.

The original experiments used PyTorch's default initialisation (weights and biases
``Unif(+-1/sqrt(fan_in))``), which differs from Flax's (lecun normal, zero bias); both are
offered, plus Kaiming / Xavier normal at a chosen scale for the initialisation-robustness grids.
"""

import jax
import jax.numpy as jnp
import flax.linen as nn

from simplicity_bias.models import register
from simplicity_bias.validation import ConfigError, check_choice

ACTIVATIONS = ("relu", "leaky_relu", "prelu", "tanh")
INITS = ("pytorch", "flax", "kaiming", "xavier")


def kernel_init(kind: str, scale: float = 1.0):
  """Initialiser for a ``[fan_in, fan_out]`` kernel."""

  def init(key, shape, dtype=jnp.float32):
    fan_in, fan_out = shape[0], shape[-1]
    if kind == "pytorch":
      bound = 1.0 / jnp.sqrt(fan_in)
      return scale * jax.random.uniform(key, shape, dtype, -bound, bound)
    if kind == "flax":
      return scale * nn.initializers.lecun_normal()(key, shape, dtype)
    if kind == "kaiming":
      return scale * jnp.sqrt(2.0 / fan_in) * jax.random.normal(key, shape, dtype)
    if kind == "xavier":
      return scale * jnp.sqrt(2.0 / (fan_in + fan_out)) * jax.random.normal(key, shape, dtype)
    raise ValueError(f"unknown init {kind!r}; valid: {', '.join(INITS)}")

  return init


class Dense(nn.Module):
  """A dense layer whose bias init may depend on fan-in (PyTorch's default does)."""
  features: int
  init_kind: str = "pytorch"
  init_scale: float = 1.0

  @nn.compact
  def __call__(self, x):
    fan_in = x.shape[-1]
    kernel = self.param("kernel", kernel_init(self.init_kind, self.init_scale), (fan_in, self.features))
    if self.init_kind == "pytorch":
      bound = 1.0 / jnp.sqrt(fan_in)
      bias_init = lambda key, shape: self.init_scale * jax.random.uniform(
          key, shape, jnp.float32, -bound, bound)
    else:
      bias_init = nn.initializers.zeros
    bias = self.param("bias", bias_init, (self.features,))
    return x @ kernel + bias


def activation_layer(name: str):
  if name == "relu":
    return nn.relu
  if name == "leaky_relu":
    return lambda x: nn.leaky_relu(x, 0.01)  # PyTorch's default slope
  if name == "prelu":
    return nn.PReLU(negative_slope_init=0.25)  # PyTorch's default initial slope
  if name == "tanh":
    return jnp.tanh
  raise ValueError(f"unknown activation {name!r}; valid: {', '.join(ACTIVATIONS)}")


class FCN(nn.Module):
  """(width, depth)-FCN with a 2-logit (``num_classes``) head.

  Its first layer is affine in the flattened input, and the network can be entered after it:
  with ``(kernel, bias) = model.first_layer(params)``,
  ``apply(v, x) == apply(v, x.reshape(n, -1) @ kernel + bias, from_first_layer=True)``.
  Evaluators use that to share ``x @ kernel`` between inputs that differ by rank-one changes.
  """
  width: int = 100
  depth: int = 2
  num_classes: int = 2
  activation: str = "relu"
  dropout: float = 0.0
  init_kind: str = "pytorch"  # not `init`: that name is Module.init
  init_scale: float = 1.0

  @nn.compact
  def __call__(self, x, train: bool = False, from_first_layer: bool = False):
    """``from_first_layer``: ``x`` is already the first dense layer's output (pre-activation)."""
    x = x.reshape(x.shape[0], -1)
    for i in range(self.depth + 1):
      if i > 0 or not from_first_layer:  # names as Flax's automatic ones: Dense_0, Dense_1, ...
        x = Dense(self.width if i < self.depth else self.num_classes, self.init_kind,
                  self.init_scale, name=f"Dense_{i}")(x)
      if i < self.depth:
        x = activation_layer(self.activation)(x)
        if self.dropout > 0:
          x = nn.Dropout(self.dropout, deterministic=not train)(x)
    return x

  @nn.nowrap
  def first_layer(self, params):
    """``(kernel [d, h], bias [h])`` of the first dense layer (the output layer when depth=0)."""
    return params["Dense_0"]["kernel"], params["Dense_0"]["bias"]


@register("fcn")
def fcn(num_classes: int = 2, width: int = 100, depth: int = 2, activation: str = "relu",
        dropout: float = 0.0, init: str = "pytorch", init_scale: float = 1.0):
  check_choice("model.activation", activation, ACTIVATIONS)
  check_choice("model.init", init, INITS)
  if not 0.0 <= dropout < 1.0:
    raise ConfigError(f"model.dropout={dropout} must be in [0, 1).")
  if width < 1 or depth < 0 or init_scale <= 0:
    raise ConfigError("model.width must be >= 1, model.depth >= 0 and model.init_scale > 0.")
  return FCN(width=width, depth=depth, num_classes=num_classes, activation=activation,
             dropout=dropout, init_kind=init, init_scale=init_scale)
