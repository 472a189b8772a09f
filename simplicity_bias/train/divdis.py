"""DivDis (Lee et al. 2023, "Diversify and Disambiguate"): K heads fit the labelled data while
their predictions on an unlabelled pool are made mutually independent.

Objective of a group of K members ("heads") trained together on one batch::

    sum_k CE_k(x, y)  +  mi_weight * sum_{j<k} I(h_j; h_k)  +  reg_weight * sum_k KL(q_k || prior)

on a pool batch ``u_1..u_m``: ``I(h_j; h_k)`` is the mutual information of the joint
``P[a, b] = mean_i p_j(a | u_i) p_k(b | u_i)`` with its marginals, ``q_k = mean_i p_k(. | u_i)``
is head k's mean prediction on the pool, and ``prior`` is the class frequency of the labelled
batch. Here the heads are separate networks (no shared trunk), the members of one group; the
weights (``objective.mi_weight``, ``objective.reg_weight``, default 1.0 each), the sums over
pairs and heads and the batch-frequency prior are our choices. Pool predictions are in training
mode. Track T1 of the mitigation leaderboard: it needs ``data.pool``.

Command: ``python launch/train.py --config=configs/divdis.py --workdir=/tmp/divdis``.
"""

import jax
import jax.numpy as jnp

from simplicity_bias.train import objectives
from simplicity_bias.train.dbat import pool_probs

NAME = "divdis"
TINY = 1e-12


def mutual_information(p_a, p_b):
  """I(h_a; h_b) of the joint ``mean_i p_a(. | u_i) p_b(. | u_i)^T`` (``p_*``: [m, C])."""
  joint = p_a.T @ p_b / p_a.shape[0]
  marginal_a, marginal_b = jnp.sum(joint, axis=1), jnp.sum(joint, axis=0)
  ratio = jnp.log(joint + TINY) - jnp.log(marginal_a[:, None] * marginal_b[None, :] + TINY)
  return jnp.sum(joint * ratio)


def kl(q, prior):
  return jnp.sum(q * (jnp.log(q + TINY) - jnp.log(prior + TINY)))


def penalty_fn(mi_weight: float, reg_weight: float):
  def penalty(inputs: objectives.StepInputs):
    probs = pool_probs(inputs)                                    # [K, m, C]
    num_classes = probs.shape[-1]
    prior = jnp.mean(jax.nn.one_hot(inputs.y, num_classes), axis=0)
    k = probs.shape[0]
    mi = sum(mutual_information(probs[a], probs[b]) for a in range(k) for b in range(a + 1, k))
    reg = sum(kl(jnp.mean(probs[a], axis=0), prior) for a in range(k))
    return mi_weight * mi + reg_weight * reg

  return penalty


@objectives.register(NAME)
def build(objective_config, data_info=None) -> objectives.Objective:
  del data_info
  mi_weight = objectives.weight(objective_config, "mi_weight", 1.0)
  reg_weight = objectives.weight(objective_config, "reg_weight", 1.0)
  return objectives.Objective(
      NAME, group_penalty=penalty_fn(mi_weight, reg_weight), needs=("group", "unlabelled"),
      pool_batch_size=int(objectives.option(objective_config, "pool_batch_size", 0)))
