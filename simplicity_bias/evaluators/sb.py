"""Simplicity-bias evaluators: standard, S-randomized and S^c-randomized accuracy / AUC; accuracy
with each latent coordinate randomized alone; the model's score over two latent coordinates.

``sb`` and ``coordinatewise`` split the model's EVAL key the same way (S, S^c, coordinates), so
turning the coordinate scan on or off leaves the S / S^c numbers unchanged.
"""

import jax
import jax.numpy as jnp

from simplicity_bias.data.randomize import (coordinate_shifts, permutation, randomize,
                                            sum_each_coordinate)
from simplicity_bias.evaluators import register
from simplicity_bias.metrics.classification import accuracy, auc_null_std, margin_scores, roc_auc

SB_METRICS = ("test_acc", "test_auc", "s_rand_acc", "s_rand_auc", "sc_rand_acc", "sc_rand_auc")
EVAL_NAMES = {"test": "standard", "s_rand": "S-randomized", "sc_rand": "S^c-randomized"}


def _keys(key):
  return jax.random.split(key, 3)  # S, S^c, coordinate-wise


def scored(logits, y, name: str):
  scores = margin_scores(logits)
  return {f"{name}_acc": accuracy(logits, y), f"{name}_auc": roc_auc(scores, y)}, scores


@register("sb")
def sb(inputs):
  """Accuracy / AUC on the test set and with S or S^c randomized; margin scores per set. With
  the option ``show_examples = n > 0`` also the first ``n`` inputs of each set as evaluated
  (``randomized_examples``, for figures)."""
  x, y, info = inputs.x, inputs.y, inputs.info
  k_simple, k_complex, _ = _keys(inputs.key)
  show = int(inputs.options.get("show_examples", 0))
  out, scores, examples = {}, {}, {"test": x[:show]}
  metrics, scores["test"] = scored(inputs.logits_fn(x), y, "test")
  out.update(metrics)
  for name, block, k in (("s_rand", "simple", k_simple), ("sc_rand", "complex", k_complex)):
    if info.has(block):
      perm = permutation(k, x.shape[0])
      randomized = randomize(x, info, block, perm, inputs.rotation)
      metrics, scores[name] = scored(inputs.logits_fn(randomized), y, name)
      out.update(metrics)
      examples[name] = randomized[:show]
  out["scores"] = scores
  out["auc_null_std"] = auc_null_std(y)
  if show:
    out["randomized_examples"] = examples
  return out


@register("coordinatewise", kinds=("vector",))
def coordinatewise(inputs):
  """``coord_rand_acc`` [dim]: accuracy with latent coordinate j alone randomized.

  Randomizing coordinate j changes the test set by a rank-one term (see
  :func:`~simplicity_bias.data.randomize.coordinate_shifts`). When the model exposes an affine
  first layer (``inputs.first_layer``), the first layer's output on the test set is computed
  once and only that rank-one change and the rest of the network are evaluated per coordinate;
  otherwise the whole model runs on each randomized set. Either way the inputs are scanned in
  blocks of rows, one coordinate at a time, and only the counts of correct predictions are kept.
  """
  _, _, k_coord = _keys(inputs.key)
  x, y, rotation = inputs.x, inputs.y, inputs.rotation
  shifts = coordinate_shifts(x, rotation, k_coord)
  if inputs.first_layer is None:
    model, base, directions = inputs.logits_fn, x, rotation
  else:
    kernel, bias, model = inputs.first_layer
    base, directions = x @ kernel + bias, rotation @ kernel

  def correct(v, valid, labels):
    return jnp.sum((jnp.argmax(model(v), axis=-1) == labels) & valid)

  counts = sum_each_coordinate(correct, base, directions, shifts, per_row=(y,))
  return {"coord_rand_acc": counts.astype(jnp.float32) / x.shape[0]}


def grid_coords(info):
  """The two latent coordinates of the decision grid: first of S and first of S^c."""
  u = info.simple[0] if info.simple else 0
  v = info.complex[0] if info.complex else min(1, info.dim - 1)
  return u, v


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


@register("decision_grid", kinds=("vector",))
def decision_grid_eval(inputs):
  """The model's score over (first S coordinate, first S^c coordinate), the other latent
  coordinates held at the first test point's."""
  u_coord, v_coord = grid_coords(inputs.info)
  base = inputs.x[0] @ inputs.rotation.T
  return {"boundary": decision_grid(inputs.logits_fn, base, inputs.rotation, u_coord, v_coord,
                                    1.1 * inputs.info.width,
                                    inputs.options.get("boundary_resolution", 64))}
