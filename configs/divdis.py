"""DivDis on LMS-5: two heads (separate networks) fit the labels while their predictions on a
decorrelated unlabelled pool are made independent (``simplicity_bias/train/divdis.py``).

  python launch/train.py --config=configs/divdis.py:cpu --workdir=/tmp/divdis

Shows per head and for the mean-logit ensemble the standard, S-randomized and S^c-randomized
accuracy / AUC, and how often the two heads disagree. DivDis works when one head keeps a high
S-randomized AUC (it uses the slabs) while the other uses the linear coordinate.
"""

import ml_collections

from simplicity_bias.config_base import group_method, group_presets


def get_config():
  objective = ml_collections.ConfigDict({"name": "divdis", "mi_weight": 1.0, "reg_weight": 1.0,
                                         "pool_batch_size": 0})
  return group_method(objective)


PRESETS = group_presets(pool=True)
