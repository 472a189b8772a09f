"""SB hurts generalization (Pitfalls of SB, Table 2): L̂MS-7 (10% linear noise) vs MS-7.

  python launch/train.py --config=configs/sb_hurts_generalization.py --workdir=/tmp/hurts
  python launch/train.py --config=configs/sb_hurts_generalization.py:cpu --workdir=/tmp/hurts_cpu
  python launch/train.py --config=configs/sb_hurts_generalization.py:smoke --workdir=/tmp/smoke

FCN widths {100, 200, 300} x depths {1, 2}. Should show on L̂MS-7 test acc ≈ .95 (the linear-only
ceiling 1 - p/2), S-rand acc ≈ .50 and S^c-rand acc ≈ test acc, although the 49 7-slabs separate
the classes perfectly; the same models on MS-7 reach ≈ 1.00: a 5-point gap caused by SB.
Paper sizes: 40k train / 10k test; L̂MS-7 SGD lr .1, momentum .9, wd 5e-4, stop at train acc
≥ .995 (a claim per row checks that the model got there: "overfits, yet stays at .95"), at most
400 epochs; MS-7 lr .3.
"""

import ml_collections

from simplicity_bias.config_base import synthetic_base


def get_config():
  c = synthetic_base("sb_hurts_generalization")
  c.data.name = "noisy_lms7"
  c.data.noise_frac = 0.1
  c.data.num_train = 40_000
  c.data.num_val = 5_000
  c.data.num_test = 10_000
  c.evals = ("sb",)
  # The notebook's FCN(300,2) fits the training set (train acc .995, the stop rule). At a cap of
  # 100 epochs none did on :cpu (train acc .971 / .974 / .982 / .991 for
  # fcn(100,1) / (300,1) / (100,2) / (300,2)), so the cap is 400 epochs: then fcn(300,2) stops
  # at .996 after 19.5-23.6k updates (~150 epochs), while (100,1) / (300,1) / (100,2) level off
  # at .973 / .977 / .988 (400 epochs; the notebook: some settings "take longer (or do not)
  # converge"), so their "fits the training data" rows are extensions.
  c.train.max_epochs = 400
  c.sweep = ml_collections.ConfigDict()
  c.sweep.datasets = ("noisy_lms7", "ms7")
  c.sweep.widths = (100, 200, 300)
  c.sweep.depths = (1, 2)
  c.sweep.optim = ml_collections.ConfigDict({
      "noisy_lms7": {"learning_rate": 0.1, "momentum": 0.9, "weight_decay": 5e-4,
                     "stop_eps": 5e-3},
      "ms7": {"learning_rate": 0.3, "momentum": 0.9, "weight_decay": 5e-4, "stop_eps": 5e-3},
  })
  return c


PRESETS = {
    # MS-7 needs the paper's 40k training points: at 20k every FCN overfits it (test acc
    # .55-.83, measured), which would hide the gap this experiment is about.
    "cpu": {"data": {"num_test": 5_000}, "sweep": {"widths": (100, 300)}},
    "smoke": {"num_seeds": 2, "data": {"num_train": 4_000, "num_val": 500, "num_test": 2_000},
              "train": {"max_epochs": 30}, "sweep": {"widths": (100,), "depths": (1,)},
              "progress": False},
}
