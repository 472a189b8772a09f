"""S / S^c randomization: break one block's link to the label, keep its joint distribution.

Vector data: test inputs are un-rotated (``z = x W^T``), the chosen latent coordinates are
replaced by their values in a permuted order of the rows (one shared permutation for the whole
block), and the result is rotated back. Images: the block's rows (e.g. the MNIST half of an
MNIST-CIFAR image) come from the permuted example. Labels are left unchanged.
"""

import jax
import jax.numpy as jnp
import numpy as np


def coord_mask(dim: int, coords) -> np.ndarray:
  mask = np.zeros(dim, bool)
  mask[list(coords)] = True
  return mask


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

  Returns a stacked output with a leading ``[dim]`` axis. Coordinates are vmapped in chunks of
  ``batch_size`` so memory stays at ``batch_size`` copies of the test set, whatever ``dim`` is.
  """
  dim = x.shape[1]
  keys = jax.random.split(key, dim)

  def one(args):
    j, k = args
    perm = jax.random.permutation(k, x.shape[0])
    return apply_fn(randomize_block(x, rotation, jnp.arange(dim) == j, perm))

  return jax.lax.map(one, (jnp.arange(dim), keys), batch_size=batch_size)
