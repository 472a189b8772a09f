"""S / S^c randomization: break one block's link to the label, keep its joint distribution.

Vector data: test inputs are un-rotated (``z = x W^T``), the chosen latent coordinates are
replaced by their values in a permuted order of the rows (one shared permutation for the whole
block), and the result is rotated back. Images: the block's rows (e.g. the MNIST half of an
MNIST-CIFAR image) come from the permuted example. Labels are left unchanged.
"""

import jax
import jax.numpy as jnp
import numpy as np

from simplicity_bias.data import counter_rng


def coord_mask(dim: int, coords) -> np.ndarray:
  mask = np.zeros(dim, bool)
  mask[list(coords)] = True
  return mask


def permutation(key, n: int):
  """The row permutation of a randomized test set (a sort-free keyed permutation)."""
  return counter_rng.permutation(key, n)


def randomize_block(x, rotation, coord_mask, perm):
  """Permutes the latent coordinates selected by ``coord_mask`` ([dim] bool) across rows."""
  z = x @ rotation.T
  z = jnp.where(coord_mask[None, :], z[perm], z)
  return z @ rotation


def randomize_rows(x, rows, perm):
  """Images ``[n, H, W, C]`` whose rows ``rows = (start, stop)`` come from example ``perm[i]``."""
  start, stop = rows
  return x.at[:, start:stop].set(x[perm, start:stop])


def randomize(x, info, block: str, perm, rotation=None):
  """``x`` with block ``'simple'`` (S) or ``'complex'`` (S^c) of ``info`` permuted by ``perm``."""
  coords = info.simple if block == "simple" else info.complex
  if info.kind == "image":
    return randomize_rows(x, coords, perm)
  return randomize_block(x, rotation, coord_mask(x.shape[1], coords), perm)


def randomize_each_coordinate(x, rotation, key, apply_fn, batch_size: int = 8):
  """``apply_fn(x')`` for every latent coordinate randomized alone, each with its own permutation.

  Randomizing latent coordinate j changes ``x = z W`` by a rank-one term,
  ``x' = x + (z[perm, j] - z[:, j]) W[j]``, so each coordinate costs O(n d) instead of two
  O(n d^2) rotations. Returns a stacked output with a leading ``[dim]`` axis. Coordinates are
  vmapped in chunks of ``batch_size`` so memory stays at ``batch_size`` copies of the test set.
  """
  n, dim = x.shape
  keys = jax.random.split(key, dim)
  z = x @ rotation.T

  def one(args):
    j, k = args
    perm = permutation(k, n)
    shift = z[perm, j] - z[:, j]
    return apply_fn(x + shift[:, None] * rotation[j][None, :])

  return jax.lax.map(one, (jnp.arange(dim), keys), batch_size=batch_size)
