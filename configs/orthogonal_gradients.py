"""Gradient-orthogonal ensembles on LMS-5: two members trained together, penalised by the squared
cosine of their input gradients (``simplicity_bias/train/orthogonal.py``).

  python launch/train.py --config=configs/orthogonal_gradients.py:cpu --workdir=/tmp/og

Shows per member and for the mean-logit ensemble the standard, S-randomized and S^c-randomized
accuracy / AUC, and how often the two members disagree. If the penalty makes the second member
use the slabs, its S-randomized AUC rises above .5 and its S^c-randomized AUC falls below 1.
"""

import ml_collections

from simplicity_bias.config_base import group_method, group_presets


def get_config():
  objective = ml_collections.ConfigDict({"name": "orthogonal_gradients", "weight": 1.0})
  return group_method(objective, pool="")


PRESETS = group_presets(pool=False)
