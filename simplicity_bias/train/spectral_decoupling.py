"""Spectral decoupling (Pezeshki et al. 2021, "Gradient Starvation"): cross-entropy plus a penalty
on the size of the logits, which decouples the features' learning dynamics so that a strong
feature does not starve the others of gradient.

Objective of one member on a batch: ``CE(logits, y) + weight * mean(logits^2)`` (mean over the
batch and the classes). ``objective.weight`` (default 0.01) is our choice; the paper tunes it per
dataset. Track T0 of the mitigation leaderboard: the method sees the labelled training set only.
"""

import jax.numpy as jnp

from simplicity_bias.train import objectives

NAME = "spectral_decoupling"


def penalty_fn(weight: float):
  def penalty(inputs: objectives.StepInputs):
    return weight * jnp.mean(inputs.logits ** 2)

  return penalty


@objectives.register(NAME)
def build(objective_config, data_info=None) -> objectives.Objective:
  del data_info
  return objectives.Objective(
      NAME, penalty=penalty_fn(objectives.weight(objective_config, "weight", 0.01)))
