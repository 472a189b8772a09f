"""The simplicity-bias mitigation leaderboard: published fixes on testbeds whose simple feature S
and complex feature S^c are known exactly, with seeds, tracks and labelled model selection.

  python launch/train.py --config=configs/mitigation_leaderboard.py:cpu --workdir=/tmp/board
  python launch/train.py --config=configs/mitigation_leaderboard.py --workdir=W   # paper sizes

Writes LEADERBOARD.md in the work directory: one row per testbed x method x selection with test
accuracy, S-randomized accuracy and AUC (the headline: does the predictor still work when S is
scrambled?), S^c-randomized AUC, seeds and cost. A method that makes a model use S^c keeps its
S-randomized accuracy above .5. Tracks (what a method may use): T0 the labelled training set, T1
also an unlabelled pool (here 'decorrelated': S permuted across held-out points).
"""

import ml_collections

from simplicity_bias.config_base import Whole, synthetic_base

# Each method: its track, members per group, objective section, unlabelled pool, the member a
# 'fixed' selection reports (-1: the last), and its forward/backward passes per member update
# relative to plain training (our estimate, for the cost column). Weights where the papers tune
# per dataset are ours: SD 0.01, gradient orthogonality 1, D-BAT alpha 1, DivDis 1 / 1, SAM rho
# .05 (the SAM paper's CIFAR value; 3 passes: the base pass, the gradient at w, the one at w + e), adversarial
# training l-inf eps .01 with 7 PGD steps. On the rotated d = 50 testbeds an l-inf step of eps
# moves a latent coordinate by up to eps x (l1 norm of a rotation row, about 5.6): eps = .01 stays
# under the margin .1 of S and of the slabs; a first :cpu attempt at eps = .1 could not fit the
# training set (train accuracy .5 after 64 epochs on LMS-5).
METHODS = {
    "erm": {"track": "T0", "group_size": 1, "objective": {"name": "erm"}, "pool": "",
            "fixed": 0, "passes": 1},
    "ensemble": {"track": "T0", "group_size": 5, "objective": {"name": "erm"}, "pool": "",
                 "fixed": 0, "passes": 1},
    "sd": {"track": "T0", "group_size": 1,
           "objective": {"name": "spectral_decoupling", "weight": 0.01}, "pool": "",
           "fixed": 0, "passes": 1},
    "grad_orthogonal": {"track": "T0", "group_size": 2,
                        "objective": {"name": "orthogonal_gradients", "weight": 1.0},
                        "pool": "", "fixed": 0, "passes": 3},
    "adv_linf": {"track": "T0", "group_size": 1,
                 "objective": {"name": "adversarial", "norm": "linf", "eps": 0.01,
                               "num_steps": 7},
                 "pool": "", "fixed": 0, "passes": 8},
    "sam": {"track": "T0", "group_size": 1, "objective": {"name": "sam", "rho": 0.05},
            "pool": "", "fixed": 0, "passes": 3},
    "dbat": {"track": "T1", "group_size": 2,
             "objective": {"name": "dbat", "alpha": 1.0, "pool_batch_size": 0},
             "pool": "decorrelated", "fixed": -1, "passes": 2},
    "divdis": {"track": "T1", "group_size": 2,
               "objective": {"name": "divdis", "mi_weight": 1.0, "reg_weight": 1.0,
                             "pool_batch_size": 0},
               "pool": "decorrelated", "fixed": 0, "passes": 2},
}


# Per testbed, the settings that differ from the base config (nested sections, applied to every
# method's cell of that testbed). Paper sizes: MS-(5,7) with the budget of configs/ms57.py.
TESTBEDS = {
    "lms5": {},
    "ms57": {"train": {"max_epochs": 200}},
}
# :cpu sizes. MS-(5,7) at 20k points was not learned by ERM within 100 epochs (test accuracy
# .52 in the first :cpu run); at 40k points and lr .5 every ERM seed tried by the configs/ms57.py
# smoke runs escaped the plateau and generalised (ours; chosen on ERM's accuracy, not on any
# mitigation metric).
CPU_TESTBEDS = {
    "lms5": {"data": {"num_train": 20_000}},
    "ms57": {"data": {"num_train": 40_000}, "optim": {"learning_rate": 0.5}},
}


def get_config():
  c = synthetic_base(experiment="mitigation_leaderboard")
  c.leaderboard = ml_collections.ConfigDict()
  c.leaderboard.testbeds = "lms5,ms57"
  c.leaderboard.methods = ",".join(METHODS)
  c.leaderboard.method = ml_collections.ConfigDict(METHODS)
  c.leaderboard.testbed = ml_collections.ConfigDict(TESTBEDS)
  c.num_seeds = 4
  # sb on the test set; select_decorrelated on 16 validation points with S permuted (the n16
  # selection of a multi-member method).
  c.evals = ("sb", "select_decorrelated")
  c.eval.select_n = 16
  c.data.pool_size = 100_000          # points in the unlabelled pool of a T1 method
  return c


PRESETS = {
    "cpu": {"data": {"num_train": 20_000, "num_val": 2_000, "num_test": 5_000,
                     "pool_size": 20_000},
            "leaderboard": {"testbed": Whole(CPU_TESTBEDS)}, "train": {"stop_eps": 1e-3}},
    "smoke": {"num_seeds": 2, "leaderboard": {"testbeds": "lms5", "testbed": Whole({"lms5": {}})},
              "data": {"num_train": 1_000, "num_val": 200, "num_test": 500, "pool_size": 1_000},
              "train": {"stop_eps": 2e-3, "max_epochs": 4}, "progress": False},
}
