"""Simplicity-bias metrics: standard, S-randomized, S^c-randomized and coordinate-wise scores.

``logits_fn`` maps a batch of inputs to logits (a trained model closed over its parameters). All
functions are pure and vmappable over members (params, data, rotation, key).
"""

import jax
import jax.numpy as jnp
import numpy as np

from simplicity_bias.data.randomize import randomize_block, randomize_each_coordinate
from simplicity_bias.metrics.classification import accuracy, margin_scores, roc_auc

SB_METRICS = ("test_acc", "test_auc", "s_rand_acc", "s_rand_auc", "sc_rand_acc", "sc_rand_auc")


def coord_mask(dim: int, coords) -> np.ndarray:
  mask = np.zeros(dim, bool)
  mask[list(coords)] = True
  return mask


def sb_metrics(logits_fn, x, y, rotation, simple_coords, complex_coords, key,
               coordinatewise: bool = True):
  """SB metrics of one model on one test set.

  Returns ``(metrics, scores)``: scalar metrics keyed as in :data:`SB_METRICS` (the randomized
  ones only when the dataset has that block) plus ``coord_rand_acc`` ([dim]); and the margin
  scores of every test point under each evaluation (for histograms).
  """
  dim = x.shape[1]
  k_simple, k_complex, k_coord = jax.random.split(key, 3)
  metrics, scores = {}, {}

  def evaluate(name, inputs):
    logits = logits_fn(inputs)
    metrics[f"{name}_acc"] = accuracy(logits, y)
    metrics[f"{name}_auc"] = roc_auc(margin_scores(logits), y)
    scores[name] = margin_scores(logits)

  evaluate("test", x)
  for name, coords, k in (("s_rand", simple_coords, k_simple), ("sc_rand", complex_coords, k_complex)):
    if len(coords):
      perm = jax.random.permutation(k, x.shape[0])
      evaluate(name, randomize_block(x, rotation, coord_mask(dim, coords), perm))
  if coordinatewise:
    metrics["coord_rand_acc"] = randomize_each_coordinate(
        x, rotation, k_coord, lambda xx: accuracy(logits_fn(xx), y))
  return metrics, scores


def decision_grid(logits_fn, base_latent, rotation, u_coord: int, v_coord: int, limit,
                  resolution: int = 64):
  """Margin scores over a grid of two latent coordinates, the others held at ``base_latent``.

  Returns ``(u_values, v_values, scores[resolution(v), resolution(u)])``.
  """
  u = jnp.linspace(-limit, limit, resolution)
  v = jnp.linspace(-limit, limit, resolution)
  uu, vv = jnp.meshgrid(u, v)
  z = jnp.broadcast_to(base_latent, (uu.size, base_latent.shape[0]))
  z = z.at[:, u_coord].set(uu.ravel()).at[:, v_coord].set(vv.ravel())
  return u, v, margin_scores(logits_fn(z @ rotation)).reshape(uu.shape)
