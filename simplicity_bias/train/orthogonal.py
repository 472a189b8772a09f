"""Gradient-orthogonal ensembles (Teney et al. 2022; Ross et al.'s local independence training):
the members of a group train together on one batch, penalised for using the same input
directions.

Objective of a group of K members on a labelled batch ``(x, y)``::

    sum_k CE_k  +  weight * mean_{j<k} mean_i cos^2(g_j(x_i), g_k(x_i)),
    g_k(x) = grad_x log p_k(y | x)   (eval mode: running statistics, no dropout)

with the cosine of ``g / sqrt(|g|^2 + 1e-12)`` (bounded gradients where ``g`` vanishes; ours).

For two classes ``g_k`` is parallel to the input gradient of the margin ``logit_1 - logit_0``, so
the cosine does not depend on which of the two is used. Track T0 of the mitigation leaderboard:
the method sees the labelled training set only. ``objective.weight`` (default 1.0) is our choice
where the papers tune it per dataset.

Command: ``python launch/train.py --config=configs/orthogonal_gradients.py --workdir=/tmp/og``.
"""

import jax
import jax.numpy as jnp

from simplicity_bias.train import objectives

NAME = "orthogonal_gradients"
TINY = 1e-12   # added to squared gradient norms (ours)


def input_gradients(forward, params, model_state, x, y):
  """``[n, ...]``: the gradient of each example's log p(y | x) with respect to its input."""

  def total(xx):
    logits = forward(params, model_state, xx, train=False)[0]
    return jnp.sum(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1))

  # Examples do not interact in eval mode, so the gradient of the sum is per example.
  return jax.grad(total)(x)


def mean_pairwise_cos2(grads):
  """``grads [K, n, d]`` -> mean over pairs j < k and examples of cos^2(g_j, g_k).

  Each gradient is normalised as ``g / sqrt(|g|^2 + TINY)``: a vanishing gradient (every ReLU
  off) adds ~0 and the backward pass stays bounded (a plain ``g / |g|`` divides by ~0 there, and
  its derivative overflows float32 long before ``|g|`` reaches 0)."""
  k = grads.shape[0]
  unit = grads / jnp.sqrt(jnp.sum(grads * grads, axis=-1, keepdims=True) + TINY)
  total, pairs = 0.0, 0
  for a in range(k):
    for b in range(a + 1, k):
      total, pairs = total + jnp.mean(jnp.sum(unit[a] * unit[b], axis=-1) ** 2), pairs + 1
  return total / pairs


def penalty_fn(weight: float):
  def penalty(inputs: objectives.StepInputs):
    grads = jax.vmap(input_gradients, in_axes=(None, 0, 0, None, None))(
        inputs.forward, inputs.params, inputs.model_state, inputs.x, inputs.y)
    return weight * mean_pairwise_cos2(grads.reshape(grads.shape[:2] + (-1,)))

  return penalty


@objectives.register(NAME)
def build(objective_config, data_info=None) -> objectives.Objective:
  del data_info
  return objectives.Objective(
      NAME, group_penalty=penalty_fn(objectives.weight(objective_config, "weight", 1.0)),
      needs=("group",))
