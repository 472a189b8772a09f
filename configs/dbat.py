"""D-BAT on LMS-5: two members trained one after the other; the second fits the labels while
disagreeing with the frozen first on a decorrelated unlabelled pool (the linear coordinate
permuted across the pool) (``simplicity_bias/train/dbat.py``).

  python launch/train.py --config=configs/dbat.py:cpu --workdir=/tmp/dbat

Shows per member and for the mean-logit ensemble the standard, S-randomized and S^c-randomized
accuracy / AUC, and how often the two members disagree. Member 0 is plain ERM (S-randomized AUC
≈ .5); D-BAT works when member 1 keeps a high S-randomized AUC (it uses the slabs).
"""

import ml_collections

from simplicity_bias.config_base import group_method, group_presets


def get_config():
  objective = ml_collections.ConfigDict({"name": "dbat", "alpha": 1.0, "pool_batch_size": 0})
  return group_method(objective)


PRESETS = group_presets(pool=True)
