"""LMS-5 extreme simplicity bias (Pitfalls of SB, Table 4 / Fig. 3): the project's main job.

  python launch/train.py --config=configs/lms5.py --workdir=/tmp/lms5          # the paper setting
  python launch/train.py --config=configs/lms5.py:cpu --workdir=/tmp/lms5_cpu  # reduced
  python launch/train.py --config=configs/lms5.py:smoke --workdir=/tmp/smoke   # seconds (tests)

Should show, for every seed: standard test AUC ≈ 1.00, S-randomized AUC ≈ 0.50 (the network
ignores all 49 five-slab coordinates once the linear one is scrambled) and S^c-randomized AUC ≈
1.00 (it needs only the linear coordinate). A margin sweep in the same program:
  --config.grid.slab_margin='(0.05,0.1,0.15)'
"""

from simplicity_bias.config_base import synthetic_base


def get_config():
  c = synthetic_base()
  c.data.name = "lms5"
  # Paper: 100k train / 10k test, rotated, (100,2)-FCN, SGD lr .1, wd 5e-5, stop at train acc
  # >= .9999 (about 12 epochs).
  return c


PRESETS = {
    "cpu": {"num_seeds": 8, "data": {"num_train": 20_000, "num_val": 2_000, "num_test": 5_000},
            "train": {"stop_eps": 1e-3}},
    "smoke": {"num_seeds": 3, "data": {"num_train": 4_000, "num_val": 1_000, "num_test": 2_000},
              "train": {"stop_eps": 2e-3, "max_epochs": 40}, "eval": {"boundary_resolution": 24},
              "progress": False},
}
