"""S-/S^c-randomized AUC over linear margin x slab margin of LMS-5, in ONE compiled run.

  python launch/train.py --config=configs/margin_sweep.py --workdir=/tmp/margins      # GPU-sized
  python launch/train.py --config=configs/margin_sweep.py:cpu --workdir=/tmp/margins  # CPU
  python launch/train.py --config=configs/margin_sweep.py:smoke --workdir=/tmp/smoke

Every grid point x seed is a member of one vmapped program. Shows where SB stops being extreme,
if anywhere: heat-maps of S-rand AUC (0.5 = the slabs are ignored) and S^c-rand AUC. The default
(5 x 5 grid x 8 seeds = 200 members of 100k samples) needs a GPU's memory and speed; `cpu`
(4 x 4 x 4 = 64 members of 10k) runs on a CPU.
"""

from simplicity_bias.config_base import synthetic_base


# What the paper-size (default) preset needs besides time (a constraint, not a measurement;
# simplicity_bias/report/costs.py reads the measured times from reproduction/).
PAPER_SIZE_NEEDS = "a GPU: 200 members of 100k samples"


def get_config():
  c = synthetic_base("margin_sweep")
  c.data.name = "lms5"
  c.evals = ("sb",)
  c.grid.linear_margin = (0.01, 0.05, 0.1, 0.3, 0.6)
  c.grid.slab_margin = (0.0, 0.05, 0.1, 0.15, 0.2)
  return c


PRESETS = {
    "cpu": {"num_seeds": 4, "data": {"num_train": 10_000, "num_val": 1_000, "num_test": 4_000},
            "train": {"stop_eps": 1e-3},
            "grid": {"linear_margin": (0.01, 0.1, 0.3, 0.6),
                     "slab_margin": (0.0, 0.05, 0.1, 0.2)}},
    "smoke": {"num_seeds": 2, "data": {"num_train": 3_000, "num_val": 500, "num_test": 1_000},
              "train": {"stop_eps": 5e-3, "max_epochs": 30},
              "grid": {"linear_margin": (0.1, 0.4), "slab_margin": (0.05, 0.1)},
              "progress": False},
}
