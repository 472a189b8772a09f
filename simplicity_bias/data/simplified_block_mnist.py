"""Simplified BlockMNIST ("Do Input Gradients Highlight Discriminative Features?", §3): the
vectors of the theorem. A signal block among the first d/2 blocks, Gaussian noise after; the
image version is :mod:`simplicity_bias.data.block_mnist`.
"""

import jax
import jax.numpy as jnp


def simplified_block_mnist(
    key: jax.Array,
    n: int,
    *,
    num_blocks: int,
    block_size: int,
    mu: float | jax.Array = 1.0,
    sigma: float | jax.Array = 1.0,
    dtype=jnp.float32,
) -> tuple[jax.Array, jax.Array, jax.Array]:
  """Simplified BlockMNIST: a signal block among the first d/2, noise after.

  x has d = num_blocks blocks of b = block_size coordinates. With y uniform in
  {0, 1} and s = 2y - 1, one of the first d/2 blocks, chosen uniformly per
  instance, holds s * mu and the other first-half blocks are 0; each of the
  last d/2 blocks is N(0, sigma^2 I_b) noise, which carries no label
  information.

  Args:
    key: PRNG key; vmap over keys for independent datasets.
    n: number of instances (static).
    num_blocks: d, even (static).
    block_size: b (static).
    mu: the signal: a vector of length b, or a scalar meaning mu * ones(b);
      may be traced.
    sigma: noise standard deviation; may be traced.
    dtype: float dtype of x.

  Returns:
    x [n, d * b], y int32 [n] in {0, 1}, signal_block int32 [n] in [0, d / 2).
  """
  if num_blocks < 2 or num_blocks % 2:
    raise ValueError(f"num_blocks must be even and >= 2, got {num_blocks}.")
  if block_size < 1 or n < 1:
    raise ValueError(f"Need n >= 1 and block_size >= 1, got {n}, {block_size}.")
  half = num_blocks // 2
  label_key, block_key, noise_key = jax.random.split(key, 3)
  y = jax.random.bernoulli(label_key, 0.5, (n,)).astype(jnp.int32)
  sign = (2 * y - 1).astype(dtype)
  signal_block = jax.random.randint(block_key, (n,), 0, half, dtype=jnp.int32)
  mu = jnp.broadcast_to(jnp.asarray(mu, dtype), (block_size,))
  is_signal = jax.nn.one_hot(signal_block, half, dtype=bool)[:, :, None]
  signal_half = jnp.where(
      is_signal, sign[:, None, None] * mu, jnp.zeros((), dtype)
  )
  noise_half = jnp.asarray(sigma, dtype) * jax.random.normal(
      noise_key, (n, half, block_size), dtype
  )
  x = jnp.concatenate([signal_half, noise_half], axis=1)
  return x.reshape(n, num_blocks * block_size), y, signal_block


def simplified_signal_mask(
    signal_block: jax.Array, *, num_blocks: int, block_size: int
) -> jax.Array:
  """bool [n, d * b]: True on each instance's signal block.

  The region a faithful attribution of `simplified_block_mnist` data finds.
  """
  blocks = (
      jnp.arange(num_blocks)[None, :] == jnp.asarray(signal_block)[:, None]
  )
  return jnp.repeat(blocks, block_size, axis=1)
