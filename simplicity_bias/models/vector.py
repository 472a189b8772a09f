"""Sequence models for vector data (Pitfalls of SB, Table 4): a 1-D CNN and a GRU.

* ``cnn1d`` — "(f, k, L)-CNN": the d-vector is read as a length-d sequence with one channel; L
  convolutions of f filters of size k (stride 1, SAME zero padding), each followed by the
  activation; then flatten (d * f features), a hidden dense layer of width ``fc_width`` with the
  activation, and a dense layer to ``num_classes`` logits. The original implementation
  (``CNNClassifier`` in the paper's code) has that hidden layer with width d: ``fc_width=-1``
  (default) means d; ``fc_width=0`` drops it (flatten straight to the logits).
* ``gru`` — "(h, l, L)-GRU": the d-vector is read as d / l steps of l consecutive features
  (step t = ``x[:, t*l:(t+1)*l]``); L stacked GRU layers of hidden size h; the last step's hidden
  state of the top layer goes through a dense layer to ``num_classes`` logits.

Initialisation ``init='pytorch'`` (default) follows PyTorch's defaults: ``Conv1d`` weights and
biases ``Unif(+-1/sqrt(in_channels * k))``, ``GRU`` weights and both bias vectors
``Unif(+-1/sqrt(h))``, ``Linear`` ``Unif(+-1/sqrt(fan_in))``. ``init='flax'`` uses Flax's
defaults (lecun normal kernels, orthogonal recurrent kernels as in ``nn.GRUCell``, zero biases).

The GRU cell is written out with PyTorch's parameterisation and gate order (r, z, n)::

  r = sigmoid(x W_ir + b_ir + h W_hr + b_hr)
  z = sigmoid(x W_iz + b_iz + h W_hz + b_hz)
  n = tanh(x W_in + b_in + r * (h W_hn + b_hn))
  h' = (1 - z) * n + z * h

so a layer has ``3 * (h * (in + h) + 2 * h)`` parameters (two bias vectors, as PyTorch; Flax's
``nn.GRUCell`` merges them into 4h). The input projections of all steps are one matmul; the
recurrence is a ``lax.scan`` over steps.
"""

import jax
import jax.numpy as jnp
import flax.linen as nn

from simplicity_bias.models import register
from simplicity_bias.models.mlp import ACTIVATIONS, Dense, activation_layer
from simplicity_bias.validation import ConfigError, check_choice

CNN_INITS = ("pytorch", "flax", "kaiming", "xavier")
GRU_INITS = ("pytorch", "flax")


def _uniform(bound: float, scale: float = 1.0):
  def init(key, shape, dtype=jnp.float32):
    return scale * jax.random.uniform(key, shape, dtype, -bound, bound)
  return init


def conv_kernel_init(kind: str, scale: float = 1.0):
  """Initialiser for a ``[k, in_channels, filters]`` kernel (PyTorch's fan convention)."""

  def init(key, shape, dtype=jnp.float32):
    k, cin, cout = shape
    fan_in, fan_out = k * cin, k * cout
    if kind == "pytorch":
      return _uniform(1.0 / fan_in ** 0.5, scale)(key, shape, dtype)
    if kind == "flax":
      return scale * nn.initializers.lecun_normal()(key, shape, dtype)
    if kind == "kaiming":
      return scale * (2.0 / fan_in) ** 0.5 * jax.random.normal(key, shape, dtype)
    if kind == "xavier":
      return scale * (2.0 / (fan_in + fan_out)) ** 0.5 * jax.random.normal(key, shape, dtype)
    raise ValueError(f"unknown init {kind!r}; valid: {', '.join(CNN_INITS)}")

  return init


class Conv1D(nn.Module):
  """One stride-1, SAME-padded 1-D convolution (cross-correlation, as ``torch.nn.Conv1d``)."""
  filters: int
  kernel_size: int
  init_kind: str = "pytorch"
  init_scale: float = 1.0

  @nn.compact
  def __call__(self, x):  # [B, length, channels]
    cin = x.shape[-1]
    kernel = self.param("kernel", conv_kernel_init(self.init_kind, self.init_scale),
                        (self.kernel_size, cin, self.filters))
    if self.init_kind == "pytorch":
      bias_init = _uniform(1.0 / (self.kernel_size * cin) ** 0.5, self.init_scale)
    else:
      bias_init = nn.initializers.zeros
    bias = self.param("bias", bias_init, (self.filters,))
    # im2col + one matmul: identical to a SAME cross-correlation, and under vmap over members
    # it stays a batched matmul (a vmapped lax.conv becomes a grouped convolution, which XLA
    # runs ~50x slower on CPU).
    k, length = self.kernel_size, x.shape[1]
    left = (k - 1) // 2
    padded = jnp.pad(x, ((0, 0), (left, k - 1 - left), (0, 0)))
    patches = jnp.stack([padded[:, j:j + length] for j in range(k)], axis=2)  # [B, L, k, C]
    return jnp.einsum("blkc,kcf->blf", patches, kernel) + bias


class ConvStack(nn.Module):
  """The convolutional trunk: [B, d] -> [B, d, filters] (translation-equivariant)."""
  filters: int = 32
  kernel_size: int = 7
  layers: int = 1
  activation: str = "relu"
  init_kind: str = "pytorch"
  init_scale: float = 1.0

  @nn.compact
  def __call__(self, x):
    x = x.reshape(x.shape[0], -1, 1)
    for i in range(self.layers):
      x = Conv1D(self.filters, self.kernel_size, self.init_kind, self.init_scale,
                 name=f"conv_{i}")(x)
      x = activation_layer(self.activation)(x)
    return x


class CNN1D(nn.Module):
  """(filters, kernel_size, layers)-CNN, a hidden dense layer and a ``num_classes`` head."""
  filters: int = 32
  kernel_size: int = 7
  layers: int = 1
  fc_width: int = -1  # -1: the input dimension d (the original); 0: no hidden dense layer
  num_classes: int = 2
  activation: str = "relu"
  init_kind: str = "pytorch"
  init_scale: float = 1.0

  @nn.compact
  def __call__(self, x, train: bool = False):
    del train  # no dropout / batch statistics
    h = ConvStack(self.filters, self.kernel_size, self.layers, self.activation, self.init_kind,
                  self.init_scale, name="trunk")(x)
    dim = h.shape[1]
    h = h.reshape(h.shape[0], -1)
    fc = dim if self.fc_width < 0 else self.fc_width
    if fc:
      h = Dense(fc, self.init_kind, self.init_scale, name="fc")(h)
      h = activation_layer(self.activation)(h)
    return Dense(self.num_classes, self.init_kind, self.init_scale, name="head")(h)


def _orthogonal_blocks(key, shape, dtype=jnp.float32):
  """``[h, 3h]``: three orthogonal ``[h, h]`` blocks (one per gate, as Flax's GRUCell)."""
  h = shape[0]
  keys = jax.random.split(key, shape[1] // h)
  return jnp.concatenate([nn.initializers.orthogonal()(k, (h, h), dtype) for k in keys], axis=1)


class GRULayer(nn.Module):
  """One GRU layer over a ``[B, T, in]`` sequence; returns all hidden states ``[B, T, h]``."""
  hidden: int
  init_kind: str = "pytorch"

  @nn.compact
  def __call__(self, xs):
    h, fan = self.hidden, xs.shape[-1]
    if self.init_kind == "pytorch":
      w_init = u_init = b_init = _uniform(1.0 / h ** 0.5)
    else:
      w_init, u_init, b_init = (nn.initializers.lecun_normal(), _orthogonal_blocks,
                                nn.initializers.zeros)
    w_i = self.param("w_input", w_init, (fan, 3 * h))      # [W_ir | W_iz | W_in]
    w_h = self.param("w_hidden", u_init, (h, 3 * h))       # [W_hr | W_hz | W_hn]
    b_i = self.param("b_input", b_init, (3 * h,))
    b_h = self.param("b_hidden", b_init, (3 * h,))
    gx = xs @ w_i + b_i                                    # [B, T, 3h], all steps at once

    def step(carry, g):
      gh = carry @ w_h + b_h
      r = jax.nn.sigmoid(g[:, :h] + gh[:, :h])
      z = jax.nn.sigmoid(g[:, h:2 * h] + gh[:, h:2 * h])
      n = jnp.tanh(g[:, 2 * h:] + r * gh[:, 2 * h:])
      new = (1.0 - z) * n + z * carry
      return new, new

    h0 = jnp.zeros((xs.shape[0], h), xs.dtype)
    _, hs = jax.lax.scan(step, h0, jnp.swapaxes(gx, 0, 1))
    return jnp.swapaxes(hs, 0, 1)


class GRU(nn.Module):
  """(hidden, step_size, layers)-GRU with a dense ``num_classes`` head on the last step."""
  hidden: int = 100
  step_size: int = 10
  layers: int = 1
  num_classes: int = 2
  init_kind: str = "pytorch"

  @nn.compact
  def __call__(self, x, train: bool = False):
    del train
    x = x.reshape(x.shape[0], -1)
    if x.shape[1] % self.step_size:
      raise ValueError(f"input dimension {x.shape[1]} is not divisible by "
                       f"model.step_size={self.step_size}.")
    xs = x.reshape(x.shape[0], x.shape[1] // self.step_size, self.step_size)
    for i in range(self.layers):
      xs = GRULayer(self.hidden, self.init_kind, name=f"gru_{i}")(xs)
    return Dense(self.num_classes, self.init_kind, name="head")(xs[:, -1])


def _check_sizes(**sizes):
  for name, value in sizes.items():
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
      raise ConfigError(f"model.{name}={value!r} must be a positive integer.")


@register("cnn1d")
def cnn1d(num_classes: int = 2, filters: int = 32, kernel_size: int = 7, layers: int = 1,
          fc_width: int = -1, activation: str = "relu", init: str = "pytorch",
          init_scale: float = 1.0):
  check_choice("model.activation", activation, ACTIVATIONS)
  check_choice("model.init", init, CNN_INITS)
  _check_sizes(num_classes=num_classes, filters=filters, kernel_size=kernel_size, layers=layers)
  if init_scale <= 0:
    raise ConfigError(f"model.init_scale={init_scale} must be > 0.")
  if not isinstance(fc_width, int) or isinstance(fc_width, bool) or fc_width < -1:
    raise ConfigError(f"model.fc_width={fc_width!r} must be -1 (the input dimension, as the "
                      "original), 0 (no hidden dense layer) or a positive width.")
  return CNN1D(filters=filters, kernel_size=kernel_size, layers=layers, fc_width=fc_width,
               num_classes=num_classes,
               activation=activation, init_kind=init, init_scale=init_scale)


@register("gru")
def gru(num_classes: int = 2, hidden: int = 100, step_size: int = 10, layers: int = 1,
        init: str = "pytorch"):
  """The input dimension must be divisible by ``step_size``; experiments check it (see
  :func:`check_input_dim`) because the builder does not know d."""
  check_choice("model.init", init, GRU_INITS)
  _check_sizes(num_classes=num_classes, hidden=hidden, step_size=step_size, layers=layers)
  return GRU(hidden=hidden, step_size=step_size, layers=layers, num_classes=num_classes,
             init_kind=init)


def check_input_dim(model_config, dim: int) -> None:
  """ConfigError when a model of ``model_config`` cannot read ``dim``-vectors (GRU steps)."""
  if model_config.get("name") == "gru":
    step = model_config.get("step_size", 10)
    if dim % step:
      raise ConfigError(f"data.dim={dim} is not divisible by model.step_size={step}; the GRU "
                        "reads the vector as dim / step_size steps, so pick a step size that "
                        "divides data.dim.")
