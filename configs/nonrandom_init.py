"""Non-random initialisation vs simplicity bias (Pitfalls of SB, Fig. 5 / App. C.7) on LMS-7.

  python launch/train.py --config=configs/nonrandom_init.py --workdir=/tmp/init        # paper-ish
  python launch/train.py --config=configs/nonrandom_init.py:cpu --workdir=/tmp/init    # reduced
  python launch/train.py --config=configs/nonrandom_init.py:smoke --workdir=/tmp/init  # seconds

Stage 1 trains M_slab on LMS-7 with the linear coordinate permuted across the training rows (it
then carries no label information; `--config.init.slab_data=zero` sets it to 0 instead), so M_slab
uses the 49 7-slabs (its row: S-rand AUC ≈ test AUC, S^c-rand AUC ≈ .5). Stage 2 trains (100,2)-FCNs
on ordinary LMS-7 from θ = α·θ_slab + (1−α)·θ_rand for every α of `init.alphas`, all α x seeds in
one program, each stopped at train loss < .01 (App. C.7). Should show, one claim per statement of
App. C.7: for α ≤ .5 the model relies on the linear coordinate only (S-rand AUC in the chance band
[.47, .53], once it learned the task); for α > .5 it relies on the slabs (S-rand AUC ≥ .6); at
α = 1 it still partly uses the linear coordinate (S^c-rand AUC ≥ .6). The .6 thresholds are ours
(the appendix gives no numbers), fixed before the runs. The report lists the updates per α (a
member that starts fitted stops at its first check) and the smallest α with S^c-rand AUC < .9.

M_slab uses the paper's MS-7 recipe (SGD lr .3, momentum .9, wd 5e-4, stop at train acc ≥ .995;
`slab.*`): with LMS-7's lr .1 / no momentum, or with 20k samples, the slabs-only task stays at
chance or is memorised. Stage 2 uses the LMS recipe (lr .1, wd 5e-5, stop at train acc ≥ .9999,
best-validation checkpoint).

Default: 8 seeds x 11 α (88 members), 100k train / 10k val / 10k test; sized for a GPU (about
2 GB of training inputs). `cpu`: 4 seeds x 5 α (20 members), 60k / 2k / 5k. `smoke`: for the
tests (M_slab does not learn the slabs at that size; it only exercises the code).
"""

from simplicity_bias.config_base import synthetic_base, add_init_config


def get_config():
  c = add_init_config(synthetic_base("nonrandom_init"))
  c.data.name = "lms7"
  c.data.num_train = 100_000   # the paper's LMS size
  c.data.num_val = 10_000
  c.data.num_test = 10_000
  c.evals = ("sb",)
  c.eval.boundary_resolution = 24
  c.train.stop_rule = "loss"   # App. C.7: stop at train loss < .01
  c.train.stop_eps = 0.01
  return c


PRESETS = {
    "cpu": {"num_seeds": 4,
            # num_train 60k: with fewer samples the 7-slabs are memorised instead of learned
            "data": {"num_train": 60_000, "num_val": 2_000, "num_test": 5_000},
            "init": {"alphas": (0.0, 0.25, 0.5, 0.75, 1.0)}},
    "smoke": {"num_seeds": 2, "data": {"num_train": 2_000, "num_val": 500, "num_test": 1_000},
              "init": {"alphas": (0.0, 0.5, 1.0)}, "slab": {"max_epochs": 10, "stop_eps": 2e-2},
              "train": {"max_epochs": 10}, "progress": False},
}
