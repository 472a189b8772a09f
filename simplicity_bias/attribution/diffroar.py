"""DiffROAR (Shah, Jain, Netrapalli, NeurIPS 2021, poster): does an attribution rank the pixels a
model of class M can predict from above those it cannot?

    DiffROAR_M(A, k) = PredPower_M(top-k of A) - PredPower_M(bottom-k of A)

The top-k (bottom-k) image keeps the fraction k of pixels with the highest (lowest) attribution
and fills the rest (black, 0; or the per-pixel training mean); a fresh model of class M is trained
on the masked training images and scored on the identically masked test images. Positive:
the attribution puts predictive pixels first; ≈ 0: no better than random; negative: inverted.
Two properties hold by construction and are used as checks: at k = 1 both images are the
original, so DiffROAR = 0; a random attribution's top-k and bottom-k are equally distributed
random pixel sets, so its DiffROAR is ≈ 0 at every k.

Each image's pixel order is computed once (:func:`pixel_ranks`, ties broken at random); every
(k, side) mask is then one comparison with the rank, so the masks of a whole k grid, both sides
and several seeds come from one vmapped program (:func:`masked_stack`).
"""

import jax
import jax.numpy as jnp
import numpy as np

from simplicity_bias.attribution import gradients, masking

K_GRID = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
SIDES = masking.SIDES
FILLS = ("black", "mean")


def pixel_ranks(scores, key=None):
  """int32 [n, H, W]: each pixel's 0-based position in its image's top-first order (rank 0 =
  highest score), ties broken by a random permutation per image when ``key`` is given."""
  return masking.feature_ranks(scores, "top", key)


def keep_mask(ranks, fraction, side):
  """bool [n, H, W]: the pixels a (fraction, side) image keeps, from top-first ranks.

  Bottom-k keeps the lowest-ranked pixels: rank >= num_pixels - kept, the exact complement of
  the top num_pixels - kept pixels (``masking.feature_ranks``: for the same key the bottom order
  is the reverse of the top order). ``fraction`` may be traced; ``side`` is 0 (top) or 1
  (bottom) and may be traced too.
  """
  num = int(np.prod(ranks.shape[1:]))
  kept = masking.num_kept(fraction, num)
  top = ranks < kept
  bottom = ranks >= num - kept
  return jnp.where(jnp.asarray(side) == 0, top, bottom)


def fill_value(x_train, fill: str):
  """What replaces removed pixels: 0.0 (black) or the per-pixel training mean [H, W, C]."""
  if fill not in FILLS:
    raise ValueError(f"fill must be one of {FILLS}, got {fill!r}.")
  if fill == "black":
    return jnp.zeros((), jnp.asarray(x_train).dtype)
  return jnp.mean(jnp.asarray(x_train), axis=0)


def masked_stack(x, ranks, fractions, sides, fill=0.0):
  """Masked copies of ``x`` for every (point, seed): ``[points * seeds, n, ...]``.

  Args:
    x: images [n, H, W, C] (shared by every member).
    ranks: top-first pixel ranks [seeds, n, H, W] (one attribution per seed).
    fractions, sides: [points] fractions k and sides (0 top, 1 bottom), one per grid point.
    fill: scalar or [H, W, C].

  Returns:
    Member-major (point-major, then seed) masked images, the order of ``members.Layout``.
  """
  fractions = jnp.asarray(fractions, jnp.float32)
  sides = jnp.asarray(sides, jnp.int32)

  def one(fraction, side, r):
    return masking.apply_mask(x, keep_mask(r, fraction, side), fill)

  per_seed = jax.vmap(one, in_axes=(None, None, 0))
  out = jax.jit(jax.vmap(per_seed, in_axes=(0, 0, None)))(fractions, sides, ranks)
  return out.reshape((-1,) + out.shape[2:])


def grid(k_values):
  """(fractions, sides) of the retraining grid: every k on both sides, k-major (top first)."""
  fractions, sides = [], []
  for k in k_values:
    for s in range(2):
      fractions.append(float(k))
      sides.append(s)
  return np.asarray(fractions, np.float32), np.asarray(sides, np.int32)


def diffroar(top_power, bottom_power):
  """PredPower(top-k) - PredPower(bottom-k), elementwise."""
  return np.asarray(top_power) - np.asarray(bottom_power)


def _rank_dtype(x):
  return jnp.int16 if int(np.prod(x.shape[1:3])) < 2 ** 15 else jnp.int32


def attribution_ranks(predict, variables, x, y, keys, method, chunk):
  """int16 [seeds, n, H, W] top-first pixel ranks of every seed's attribution of ``x`` (member
  ``s`` of ``variables`` with ``keys[s]``; one seed at a time: the attributions of a whole
  training set are the largest arrays of a DiffROAR run)."""
  dtype = _rank_dtype(x)

  @jax.jit
  def one(v, key):
    k_attr, k_tie = jax.random.split(key)
    attr = gradients.attribute_chunked(method, lambda z: predict(v, z), x, y, k_attr, chunk)
    return masking.feature_ranks(gradients.pixel_scores(attr), "top", k_tie).astype(dtype)

  num = jax.tree_util.tree_leaves(variables)[0].shape[0]
  return jnp.stack([one(jax.tree_util.tree_map(lambda a: a[s], variables), keys[s])
                    for s in range(num)])


def random_ranks(x, keys):
  """Ranks of a random attribution (uniform scores, random tie-breaks) per seed."""
  dtype = _rank_dtype(x)

  @jax.jit
  def one(key):
    k_score, k_tie = jax.random.split(key)
    scores = jax.random.uniform(k_score, x.shape[:3])
    return masking.feature_ranks(scores, "top", k_tie).astype(dtype)

  return jnp.stack([one(k) for k in keys])
