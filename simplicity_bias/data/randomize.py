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


def coordinate_shifts(x, rotation, key):
  """``[dim, n]``: how each latent coordinate of each row changes when it alone is randomized.

  Row j is ``z[perm_j, j] - z[:, j]`` (``z = x rotation^T``), each coordinate with its own
  permutation ``perm_j = permutation(split(key, dim)[j], n)``. Randomizing latent coordinate j
  changes ``x = z rotation`` by a rank-one term: the randomized set is
  ``x + shifts[j][:, None] * rotation[j]``.
  """
  n, dim = x.shape
  z = x @ rotation.T
  perms = jax.vmap(lambda k: permutation(k, n))(jax.random.split(key, dim))
  return jnp.take_along_axis(z.T, perms, axis=1) - z.T


def sum_each_coordinate(fn, base, directions, shifts, per_row=(), block_rows: int = 1024):
  """``[dim, ...]``: for every coordinate j, the sum over row blocks of ``fn(v, valid, *rows)``.

  ``v = base[b] + shifts[j, b][:, None] * directions[j]`` is block ``b`` of the rank-one change
  of ``base`` ([n, k]) along ``directions[j]`` ([dim, k]); ``valid`` ([block] bool) is False on
  the padding rows of the last block and ``rows`` are the blocks of the ``per_row`` arrays
  ([n, ...] each). With ``base = x, directions = rotation`` and ``fn`` a per-row model, ``v`` is
  the test set with latent coordinate j randomized (see :func:`coordinate_shifts`); with
  ``base = x @ kernel + bias, directions = rotation @ kernel`` it is the first layer's output
  on that set. One ``fori_loop`` over (coordinate, block) slices its inputs in place (no copies
  per coordinate) and keeps the working set at blocks of ``block_rows`` rows.
  """
  n = base.shape[0]
  dim = directions.shape[0]
  blocks = -(-n // block_rows)
  rows = -(-n // blocks)  # the smallest block size with this many blocks: little padding
  pad = blocks * rows - n
  padded = lambda a: jnp.pad(a, [(0, pad)] + [(0, 0)] * (a.ndim - 1))
  base, per_row = padded(base), tuple(padded(a) for a in per_row)
  shifts = jnp.pad(shifts, ((0, 0), (0, pad)))
  valid = jnp.arange(blocks * rows) < n

  def block(j, b):
    start = b * rows
    take = lambda a: jax.lax.dynamic_slice_in_dim(a, start, rows)
    s = jax.lax.dynamic_slice(shifts, (j, start), (1, rows))[0]
    v = take(base) + s[:, None] * jax.lax.dynamic_index_in_dim(directions, j, keepdims=False)
    return fn(v, take(valid), *map(take, per_row))

  out = jax.eval_shape(block, 0, 0)
  zeros = jax.tree_util.tree_map(lambda o: jnp.zeros((dim,) + o.shape, o.dtype), out)

  def body(i, acc):
    j, b = i // blocks, i % blocks
    return jax.tree_util.tree_map(lambda a, o: a.at[j].add(o), acc, block(j, b))

  return jax.lax.fori_loop(0, dim * blocks, body, zeros)


def strip_block(x, rotation, mask, key, mode: str = "permute"):
  """Removes the label information of the latent coordinates in ``mask`` ([dim] bool): permute
  them across rows with one shared permutation (``'permute'``, drawn with ``key``) or set them to
  0 (``'zero'``)."""
  if mode == "permute":
    return randomize_block(x, rotation, mask, jax.random.permutation(key, x.shape[0]))
  z = x @ rotation.T
  return jnp.where(mask[None, :], 0.0, z) @ rotation
