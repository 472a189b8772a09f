"""Extreme SB is robust to training choices (Pitfalls of SB, Tables 6-9), LMS-5 by default.

  python launch/train.py --config=configs/sb_training_choices.py --workdir=/tmp/choices
  python launch/train.py --config=configs/sb_training_choices.py:cpu --workdir=/tmp/choices_cpu
  python launch/train.py --config=configs/sb_training_choices.py:smoke --workdir=/tmp/smoke

Grids (one heat-map each, cells = S-randomized AUC): activation x optimizer, dropout x weight
decay, Kaiming/Xavier init x scale, input dimension {2, 5, 10} x {LMS-7, MS-(5,7)}. Should show
S-rand AUC ≈ 0.5 and S^c-rand AUC ≈ 1 in every cell: no common training choice removes SB.
One grid only: --config.sweep.grids='("init_scale",)'.
The default (paper sizes, 8 seeds, 32 cells) is CPU-practical but long; `cpu` is the reduced
variant used for REPRODUCTION.md.
"""

from simplicity_bias.config_base import synthetic_base
from simplicity_bias.experiments import sb_training_choices


def get_config(preset: str = ""):
  c = sb_training_choices.sweep_config(synthetic_base("sb_training_choices"))
  c.data.name = "lms5"
  c.evals = ("sb",)
  c.train.max_epochs = 60
  if preset == "cpu":
    c.data.num_train = 20_000
    c.data.num_val = 2_000
    c.data.num_test = 5_000
    c.train.stop_eps = 1e-3
  elif preset == "smoke":
    c.num_seeds = 2
    c.data.num_train = 3_000
    c.data.num_val = 500
    c.data.num_test = 1_000
    c.train.stop_eps = 5e-3
    c.train.max_epochs = 30
    c.sweep.activations = ("relu", "tanh")
    c.sweep.optimizers = ("sgd", "adam")
    c.sweep.dropouts = (0.0, 0.1)
    c.sweep.weight_decays = (1e-4,)
    c.sweep.init_scales = (0.5, 2.0)
    c.sweep.dims = (2, 10)
    c.sweep.dim_datasets = ("lms7",)
    c.progress = False
  elif preset:
    raise ValueError(f"unknown preset {preset!r}; valid: cpu, smoke")
  return c
