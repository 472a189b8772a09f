"""D-BAT (Pagliardini et al. 2023, "Agree to Disagree"): members trained one after another, each
new one fitting the labelled data while disagreeing with the earlier (frozen) members on an
unlabelled pool.

Member ``k`` of a group trains after members ``0..k-1`` have stopped (``sequential``; each has
the full ``train.max_epochs`` budget and the stop rule), on::

    CE_k(x, y)  +  alpha * mean_{j<k} mean_{u in pool batch}
                   -log(p_j(u) (1 - p_k(u)) + (1 - p_j(u)) p_k(u) + 1e-7)

with ``p(u)`` the probability of class 1 (two classes) and the earlier members' probabilities
held fixed (no gradient). Member 0 is plain ERM. Pool predictions are in training mode (dropout,
batch statistics, as the batch loss; the running statistics follow the labelled batches only).
The mean over earlier members (for K > 2) and the 1e-7 inside the log are our choices;
``objective.alpha`` (default 1.0) too. Track T1 of the mitigation leaderboard: it needs
``data.pool`` (an unlabelled pool; ``'decorrelated'`` on the slab data).

Command: ``python launch/train.py --config=configs/dbat.py --workdir=/tmp/dbat``.
"""

import jax
import jax.numpy as jnp

from simplicity_bias.train import objectives
from simplicity_bias.validation import ConfigError

NAME = "dbat"
EPS = 1e-7


def pool_probs(inputs: objectives.StepInputs):
  """``[K, m, C]``: every member's class probabilities on the pool batch (training mode)."""
  forward = lambda p, s: forward_probs(inputs.forward, p, s, inputs.pool, inputs.key)
  return jax.vmap(forward)(inputs.params, inputs.model_state)


def forward_probs(forward, params, model_state, x, key):
  return jax.nn.softmax(forward(params, model_state, x, train=True, key=key)[0], axis=-1)


def disagreement_loss(p_earlier, p_new):
  """``-log(p_j (1 - p_k) + (1 - p_j) p_k)``, elementwise, for class-1 probabilities."""
  return -jnp.log(p_earlier * (1.0 - p_new) + (1.0 - p_earlier) * p_new + EPS)


def penalty_fn(alpha: float):
  def penalty(inputs: objectives.StepInputs):
    p = pool_probs(inputs)[..., 1]                     # [K, m]
    fixed = jax.lax.stop_gradient(p)
    total = 0.0
    for k in range(1, p.shape[0]):
      term = jnp.mean(jnp.stack([jnp.mean(disagreement_loss(fixed[j], p[k])) for j in range(k)]))
      total = total + jnp.where(inputs.active[k], term, 0.0)
    return alpha * total

  return penalty


@objectives.register(NAME)
def build(objective_config, data_info=None) -> objectives.Objective:
  alpha = objectives.weight(objective_config, "alpha", 1.0)
  if data_info is not None and data_info.num_classes != 2:
    raise ConfigError(f"objective {NAME!r} is defined for two classes; the data have "
                      f"{data_info.num_classes}.")
  return objectives.Objective(
      NAME, group_penalty=penalty_fn(alpha), needs=("group", "unlabelled"), sequential=True,
      pool_batch_size=int(objectives.option(objective_config, "pool_batch_size", 0)))
