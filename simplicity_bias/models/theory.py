"""The network of Theorem 1 (Pitfalls of SB, §4.1): one hidden ReLU layer, fixed output weights.

f(x) = Σ_j a_j ReLU(w_j·x [+ b_j]) with k hidden units; a_j = +1/√k for the first k/2 units and
−1/√k for the others, fixed (not parameters); only W (and the optional bias, initialised at 0)
is trained. W ~ N(0, std²) with std = init_scale/√(d·k) (``init='fan_in'``) or the theorem's
std = init_scale/(√(d·k)·log² d) (``init='theorem'``). The logits are ``[0, f]``, so the
argmax is the sign rule ``y = [f > 0]`` and ``logit_1 − logit_0 = f``.
"""

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from simplicity_bias.models import register
from simplicity_bias.validation import ConfigError, check_choice

INITS = ("fan_in", "theorem")


def init_std(dim: int, hidden: int, init: str = "fan_in", scale: float = 1.0) -> float:
  """Standard deviation of the first-layer weights at initialisation."""
  std = scale / math.sqrt(dim * hidden)
  return std / math.log(dim) ** 2 if init == "theorem" else std


def output_weights(hidden: int):
  """Fixed second layer: +1/√k on the first k/2 units, −1/√k on the rest."""
  half = hidden // 2
  return jnp.concatenate([jnp.ones(half), -jnp.ones(hidden - half)]) / math.sqrt(hidden)


class FixedOutputReLU(nn.Module):
  hidden: int = 100
  bias: bool = False
  init_kind: str = "fan_in"
  init_scale: float = 1.0

  @nn.compact
  def __call__(self, x, train: bool = False):
    del train
    x = x.reshape(x.shape[0], -1)
    std = init_std(x.shape[-1], self.hidden, self.init_kind, self.init_scale)
    w = self.param("w", lambda key, shape: std * jax.random.normal(key, shape, jnp.float32),
                   (self.hidden, x.shape[-1]))
    pre = x @ w.T
    if self.bias:
      pre = pre + self.param("b", nn.initializers.zeros, (self.hidden,))
    f = jax.nn.relu(pre) @ output_weights(self.hidden)
    return jnp.stack([jnp.zeros_like(f), f], axis=-1)


@register("fixed_output_relu")
def fixed_output_relu(num_classes: int = 2, hidden: int = 100, bias: bool = False,
                      init: str = "fan_in", init_scale: float = 1.0):
  if num_classes != 2:
    raise ConfigError("model 'fixed_output_relu' is a binary classifier (num_classes=2).")
  if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 2 or hidden % 2:
    raise ConfigError(f"model.hidden={hidden!r} must be an even integer >= 2 (half the output "
                      "weights are +1/√k, half −1/√k).")
  check_choice("model.init", init, INITS)
  if not init_scale > 0 or not math.isfinite(init_scale):
    raise ConfigError(f"model.init_scale={init_scale!r} must be a finite number > 0.")
  return FixedOutputReLU(hidden=hidden, bias=bool(bias), init_kind=init, init_scale=init_scale)


def weight_stats(params):
  """Mean over hidden units of |w_linear|, |w_slab|, ‖w_noise‖ and the per-coordinate |w_noise|
  (LSN latent coordinates: 0 linear, 1 slab, 2.. noise)."""
  w = params["w"]
  noise = w[:, 2:]
  return {"w_linear": jnp.mean(jnp.abs(w[:, 0])), "w_slab": jnp.mean(jnp.abs(w[:, 1])),
          "w_noise": jnp.mean(jnp.sqrt(jnp.sum(noise ** 2, axis=1))),
          "w_noise_coord": jnp.mean(jnp.abs(noise))}
