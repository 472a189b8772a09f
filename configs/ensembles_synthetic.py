"""Ensembles of (100,2)-FCNs vs simplicity bias (Pitfalls of SB, §5 / Fig. 6).

  python launch/train.py --config=configs/ensembles_synthetic.py --workdir=/tmp/ens        # paper-ish
  python launch/train.py --config=configs/ensembles_synthetic.py:cpu --workdir=/tmp/ens    # reduced
  python launch/train.py --config=configs/ensembles_synthetic.py:smoke --workdir=/tmp/ens  # seconds

Ensemble = mean of raw logits of K members trained on ONE dataset from different inits;
K ∈ {1, 3, 5, 10}. Datasets: MS-5 (50 5-slabs, no S/S^c split) and L̂MS-7 with 50% linear noise,
both at a small training set (App. E.1: "as the training sample size is small, FCNs overfit ...
and attain approximately 75% test accuracy"), LMS-5, and MS-7 (the 7-slabs alone) at L̂MS-7's n,
model and budget: the control that says whether the slabs can be learned there at all. Should
show: a single (100,2)-FCN on MS-5 fits its training set (train acc 1) yet reaches only ≈ .75
standard test accuracy, and the ensembles gain +≈.15 (K = 5) and +≈.20 (K = 10) in standard test
accuracy (published); on L̂MS-7 the test accuracy stays at the linear-only ceiling .75 for every K
(a test of SB only where the MS-7 control learns the slabs); on LMS-5 the ensemble's
S-randomized AUC stays ≈ .5 (all members use the same linear coordinate). Also reported, not
claimed: which slab each member uses (`member_coords_used`, `distinct_coords`) and the accuracy
with a random half of the coordinates randomized (`half_rand_acc`; with a fraction chosen after
the fact a member that uses one of 50 slabs scores .75 by construction, so it is no test).

The small n (ours: the paper does not give it) was calibrated on a grid, 6 single (100,2)-FCNs per
n, SGD lr .1, each trained to train acc 1: n = 3,000 → test acc .553; 4,000 → .702 ± .041; 5,000 →
.839; 8,000 → .973 (20,000 → ≈ 1). n = 4,400 (`ensemble.settings.<name>.num_train`, linear
interpolation to .75) is used for MS-5 and L̂MS-7; MS-5's max_epochs is raised so that ~40k updates
are allowed (members converge in ~3.3k); L̂MS-7 gets 200 epochs (~3.4k updates; fitting its 50%
noisy linear labels is not the point).

Default: 8 ensembles per size (80 members per dataset), LMS-5 at 40k train / 5k val / 10k test:
sized for a GPU. `cpu`: 4 ensembles per size (40 members per dataset), LMS-5 at 20k / 2k / 5k.
`smoke`: for the tests (too short for MS-5 to be learned).
"""

from simplicity_bias.config_base import (add_ensemble_config, ensemble_dataset_settings,
                                          synthetic_base)


def get_config():
  c = add_ensemble_config(synthetic_base("ensembles_synthetic"))
  c.num_seeds = 8                # ensembles per size; members per dataset = 8 x max(sizes)
  c.data.name = "ms5"            # replaced per dataset by ensemble.datasets
  c.data.num_train = 40_000
  c.data.num_val = 5_000
  c.data.num_test = 10_000
  c.evals = ("sb", "coordinatewise")  # per-member coordinate scan: which slab each member uses
  c.eval.boundary_resolution = 24
  for name in ("ms5", "noisy_lms7"):   # the calibrated small n (see above)
    c.ensemble.settings[name].num_train = 4_400
  c.ensemble.settings.ms5.max_epochs = 2_400
  c.ensemble.settings.noisy_lms7.max_epochs = 200   # ~3.4k updates, as MS-5 needs
  c.ensemble.own_data = ("ms5",)   # members with their own samples (extension rows)
  # The slabs-only control of the L̂MS-7 rows: MS-7 with the same model, n and budget. The L̂MS-7
  # claims test SB only where this control learns the slabs (reproduction/ledger/).
  c.ensemble.datasets = ("ms5", "noisy_lms7", "lms5", "ms7")
  c.ensemble.settings.ms7 = ensemble_dataset_settings(stop_eps=5e-3, max_epochs=200,
                                                      num_train=4_400)
  return c


PRESETS = {
    "cpu": {"num_seeds": 4, "data": {"num_train": 20_000, "num_val": 2_000, "num_test": 5_000}},
    "smoke": {"num_seeds": 2,
              "ensemble": {"sizes": (1, 3), "datasets": ("ms5", "noisy_lms7"),
                           "settings": {
                               # num_train None: data.num_train
                               "ms5": {"max_epochs": 8, "num_train": None},
                               "noisy_lms7": {"max_epochs": 8, "num_train": None}},
                           "own_data": ()},
              "data": {"num_train": 2_000, "num_val": 500, "num_test": 1_000},
              "eval": {"num_subsets": 4}, "evals": ("sb",), "progress": False},
}
