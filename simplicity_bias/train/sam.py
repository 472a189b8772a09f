"""Sharpness-aware minimisation (Foret et al. 2021, SAM): each update follows the gradient of the
loss at the worst nearby weights, ``w + rho * g / |g|`` with ``g`` the batch gradient at ``w``.

Update of one member on a batch: ``w <- w - lr * grad CE(w + e)``, ``e = rho * g / |g|`` (``|g|``
the global norm over all parameters, ``e`` held constant: the first-order SAM of the paper,
sharpness measured on the whole batch). Written as the loss ``CE(logits)`` plus the penalty
``CE(w + e) - CE(logits)`` whose value and gradient make the total exactly ``CE(w + e)``.
``objective.rho`` (default 0.05, the paper's value for its CIFAR runs) is not tuned here. Track
T0 of the mitigation leaderboard: the method sees the labelled training set only.

Command: ``python launch/train.py --config=configs/mitigation_leaderboard.py:cpu
--config.leaderboard.methods=erm,sam --workdir=/tmp/sam``.
"""

import jax
import jax.numpy as jnp

from simplicity_bias.metrics.classification import cross_entropy
from simplicity_bias.train import objectives

NAME = "sam"
TINY = 1e-12   # added to the squared gradient norm (ours)


def penalty_fn(rho: float, loss=cross_entropy):
  def penalty(inputs: objectives.StepInputs):
    def at(params):
      logits = inputs.forward(params, inputs.model_state, inputs.x, train=True,
                              key=inputs.key)[0]
      return loss(logits, inputs.y)

    g = jax.lax.stop_gradient(jax.grad(at)(inputs.params))
    norm = jnp.sqrt(sum(jnp.sum(leaf * leaf) for leaf in jax.tree_util.tree_leaves(g)) + TINY)
    shifted = jax.tree_util.tree_map(lambda p, d: p + rho * d / norm, inputs.params, g)
    return at(shifted) - loss(inputs.logits, inputs.y)

  return penalty


@objectives.register(NAME)
def build(objective_config, data_info=None) -> objectives.Objective:
  del data_info
  rho = objectives.weight(objective_config, "rho", 0.05)
  return objectives.Objective(NAME, penalty=penalty_fn(rho))
