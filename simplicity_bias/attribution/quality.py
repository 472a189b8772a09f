"""Ground-truth quality of attributions on images whose discriminative region is known.

On BlockMNIST only the digit block predicts the label; the null block is the same for every
image. An attribution that highlights discriminative features should therefore put its top-ranked
pixels and its mass on the digit block. The paper's "feature leakage" is the opposite: attribution
mass on the null block, shaped like the digit of the predicted class although that digit is not
there. These metrics measure both from pixel scores (magnitudes, see
:func:`gradients.pixel_scores`) and region masks; a region mask may be shared [H, W] or per image
[n, H, W], as BlockMNIST's digit is on top or at the bottom at random.

All metrics are per image, jit-able and vmappable over ensemble members.
"""

import jax.numpy as jnp

from simplicity_bias.attribution import masking


def _flat_region(region_mask, shape):
  """[H, W] or [n, H, W] region -> bool [n, H * W], broadcast to the scores' shape."""
  region = jnp.broadcast_to(jnp.asarray(region_mask, bool), shape)
  return region.reshape(shape[0], -1)


def topk_share_in_region(pixel_scores, region_mask, fractions, key=None):
  """Share of each image's top-k pixels that lie in the region, for every fraction k.

  Under a random attribution the share is the region's share of the image (1/2 for a BlockMNIST
  block), the chance level to compare against.

  Args:
    pixel_scores: [n, H, W] (or [n, d]) scores, higher meaning more important.
    region_mask: bool [H, W] or [n, H, W] (or [d], [n, d]), True inside the region.
    fractions: sequence of fractions of pixels k in [0, 1], e.g. (0.025, 0.05, 0.1, 0.2, 0.3);
      the top round(k * num_pixels) pixels are counted (see :func:`masking.num_kept`). May be a
      JAX array, then traced.
    key: optional PRNG key breaking ties among equal scores at random (see
      :func:`masking.feature_ranks`); without one, ties go to the lower pixel index.

  Returns:
    float32 [n, len(fractions)] shares in [0, 1]; NaN for a fraction that keeps no pixel.
  """
  pixel_scores = jnp.asarray(pixel_scores)
  n = pixel_scores.shape[0]
  ranks = masking.feature_ranks(pixel_scores, "top", key).reshape(n, -1)
  region = _flat_region(region_mask, pixel_scores.shape)
  kept = jnp.asarray(masking.num_kept(fractions, ranks.shape[1])).reshape(-1)
  in_top = ranks[:, None, :] < kept[None, :, None]
  hits = jnp.sum(in_top & region[:, None, :], axis=-1).astype(jnp.float32)
  return jnp.where(kept > 0, hits / jnp.maximum(kept, 1), jnp.nan)


def mass_share(pixel_scores, region_mask):
  """Share of each image's total attribution mass sum |score| that lies in the region.

  Args:
    pixel_scores: [n, H, W] (or [n, d]) scores; their absolute values are summed.
    region_mask: bool [H, W] or [n, H, W] (or [d], [n, d]).

  Returns:
    [n] shares in [0, 1]; NaN for an image whose attribution is all zero (no mass to share).
  """
  pixel_scores = jnp.asarray(pixel_scores)
  n = pixel_scores.shape[0]
  magnitude = jnp.abs(pixel_scores).reshape(n, -1)
  region = _flat_region(region_mask, pixel_scores.shape)
  total = jnp.sum(magnitude, axis=-1)
  inside = jnp.sum(jnp.where(region, magnitude, 0), axis=-1)
  return jnp.where(total > 0, inside / jnp.where(total > 0, total, 1), jnp.nan)


def leakage_score(null_block_scores, reference_map):
  """Pearson correlation, per image, of the null-block attribution with a reference map.

  With the reference set to the training-set mean digit of the predicted class, a high score
  means the attribution draws that digit on the null block: feature leakage.

  Args:
    null_block_scores: [n, h, w] (or [n, d]) attribution scores on the null block.
    reference_map: [h, w] shared or [n, h, w] per image (e.g. the mean digit of each image's
      predicted class).

  Returns:
    [n] correlations in [-1, 1]; 0 where either map is constant (correlation undefined), so a
    zero attribution never turns into NaN. Constancy is tested with max == min, not with the
    variance, whose rounding error would turn a constant map into a spurious +-1.
  """
  scores = jnp.asarray(null_block_scores)
  n = scores.shape[0]
  a = scores.reshape(n, -1)
  dtype = jnp.result_type(a.dtype, jnp.float32)
  a = a.astype(dtype)
  b = jnp.broadcast_to(jnp.asarray(reference_map, dtype), scores.shape).reshape(n, -1)
  varies = (jnp.max(a, axis=-1) > jnp.min(a, axis=-1)) & (
      jnp.max(b, axis=-1) > jnp.min(b, axis=-1))
  a = a - jnp.mean(a, axis=-1, keepdims=True)
  b = b - jnp.mean(b, axis=-1, keepdims=True)
  covariance = jnp.sum(a * b, axis=-1)
  norms = jnp.sqrt(jnp.sum(a * a, axis=-1) * jnp.sum(b * b, axis=-1))
  defined = varies & (norms > 0)
  correlation = covariance / jnp.where(defined, norms, 1)
  return jnp.where(defined, jnp.clip(correlation, -1, 1), 0.0)

