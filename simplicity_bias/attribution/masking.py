"""Rank-based feature masks: keep an instance's highest- or lowest-scoring features, fill the rest.

Masking experiments remove (or keep) the features an attribution ranks highest and retrain or
re-evaluate; they need masks that keep exactly round(fraction * num_features) features per
instance, whatever the ties. Attribution maps tie often (dead ReLUs and constant background give
exact zeros), so ties are broken uniformly at random when a key is given: each instance gets a
random permutation of its features as the secondary sort key, which makes the order a strict
total order (no jitter can collide) and every tied feature equally likely to be kept.

The number kept is compared to ranks (``rank < k``), so `fraction` may be traced: masks for a
grid of fractions come from one vmap. Scores [n, ...] are ranked over all non-batch axes, so the
same code masks vectors [n, d] and pixels [n, H, W]; :func:`apply_mask` broadcasts a pixel mask
over the channels of [n, H, W, C] images.
"""

import jax
import jax.numpy as jnp
import numpy as np

SIDES = ("top", "bottom")


def num_kept(fraction, num_features):
  """round(fraction * num_features), halves to even as Python's `round` does.

  A Python float gives a Python int and a sequence or numpy array an int32 array, computed in
  float64 exactly as `round(fraction * num_features)` would; a JAX (possibly traced) fraction
  gives an int32 JAX value, computed in the fraction's precision.
  """
  if isinstance(fraction, (int, float, list, tuple, np.ndarray, np.number)):
    fraction = np.asarray(fraction, np.float64)
    if np.any((fraction < 0) | (fraction > 1)):
      raise ValueError(f"fraction must lie in [0, 1], got {fraction}.")
    kept = np.rint(fraction * num_features).astype(np.int32)
    return int(kept) if kept.ndim == 0 else kept
  fraction = jnp.clip(jnp.asarray(fraction), 0, 1)
  return jnp.round(fraction * num_features).astype(jnp.int32)


def feature_ranks(scores, side="top", key=None):
  """Per instance, the 0-based position of every feature in keeping order, of scores' shape.

  Rank 0 is the highest score for side='top' and the lowest for side='bottom'. Ties go to the
  lower index on the top side when `key` is None, else to a random permutation of the features
  (one per instance). For NaN-free scores, the bottom order is the exact reverse of the top
  order for the same key, so the top k and the bottom num_features - k features are
  complementary. -0.0 ties with 0.0 (as in `lax.sort`), NaN scores come last on both sides,
  and integer and boolean scores are ranked as float32.

  Args:
    scores: [n, ...] scores, ranked over all axes but the first.
    side: 'top' or 'bottom'.
    key: optional PRNG key for random tie-breaking.

  Returns:
    int32 ranks of scores' shape: a permutation of range(num_features) per instance.
  """
  if side not in SIDES:
    raise ValueError(f"Unknown side {side!r}; choose one of {SIDES}.")
  scores = jnp.asarray(scores)
  n = scores.shape[0]
  flat = scores.reshape(n, -1)
  if not jnp.issubdtype(flat.dtype, jnp.floating):
    # The negation below must not wrap around (unsigned integers, booleans).
    flat = flat.astype(jnp.float32)
  index = jnp.broadcast_to(jnp.arange(flat.shape[1], dtype=jnp.int32), flat.shape)
  if key is None:
    tiebreak = index
  else:
    tiebreak = jax.random.permutation(key, index, axis=1, independent=True)
  if side == "top":
    order = jnp.lexsort((tiebreak, -flat), axis=-1)
  else:
    order = jnp.lexsort((-tiebreak, flat), axis=-1)
  # The inverse permutation of the keeping order is each feature's rank.
  ranks = jnp.argsort(order, axis=-1).astype(jnp.int32)
  return ranks.reshape(scores.shape)


def rank_mask(scores, fraction, side="top", key=None):
  """Boolean mask keeping, per instance, the round(fraction * num_features) top/bottom features.

  Args:
    scores: [n, ...] scores (e.g. :func:`gradients.pixel_scores` [n, H, W], or [n, d]).
    fraction: share of features to keep, in [0, 1]; a Python float or a (traced) JAX scalar.
    side: 'top' keeps the highest scores, 'bottom' the lowest.
    key: optional PRNG key breaking ties at random (see :func:`feature_ranks`).

  Returns:
    bool mask of scores' shape, True where the feature is kept; exactly the same count in
    every instance.
  """
  ranks = feature_ranks(scores, side, key)
  return ranks < num_kept(fraction, int(np.prod(ranks.shape[1:])))


def apply_mask(x, mask, fill=0.0):
  """x where `mask` is True, `fill` elsewhere.

  Args:
    x: inputs [n, ...].
    mask: bool mask of x's shape, or of x's shape without its last (channel) axis, in which case
      it applies to every channel of a pixel.
    fill: what replaces removed features: a scalar (0.0 is black for images in [0, 1]) or an
      array broadcastable to x, such as the per-feature training mean [H, W, C] or [d].
  """
  mask = jnp.asarray(mask, bool)
  if mask.ndim == x.ndim - 1:
    mask = mask[..., None]
  return jnp.where(mask, x, jnp.asarray(fill, x.dtype))
