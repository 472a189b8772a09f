"""Adversarial attacks and universal perturbations on SB models (Pitfalls of SB §5).

  python launch/train.py --config=configs/attacks_synthetic.py --workdir=W          # paper setting
  python launch/train.py --config=configs/attacks_synthetic.py:cpu --workdir=W      # reduced
  python launch/train.py --config=configs/attacks_synthetic.py:smoke --workdir=W    # seconds

(200,1)-FCNs trained with SGD lr .1, wd 5e-4, batch 256 on LMS-5 (stop at train loss < .01) and
MS-(5,7) (stop at train accuracy >= .99, then 3,000 more updates: see the settings), 8 seeds per
dataset. Should show, per dataset:
per-example l2 PGD at the UAP's radius drives test accuracy to ≈ 0; one label-signed SVD-UAP
(top right singular vector of the per-example perturbations, l2 norm 1.0 on LMS-5 and .5 on
MS-(5,7)) brings held-out accuracy to ≈ 0 (published .0066 / .0656) and has ≥ 99% of its l2
budget on the simple coordinate (published 99.6% / 99.9%); the original notebook's per-example
attack (l2 PGD at radius half the data range, 20 steps of .05 x the range, kept in the data's box)
spends ≥ 98% of its budget on S, measured as the notebook does: the mean over examples of
||delta_S|| / ||delta|| (notebook: 99.73% on LMS-5, 99.09% on MS-(5,7); band [.98, 1], ours).
Also reported: AS-UAP (projected gradient ascent on one shared perturbation), accuracy on the
fitting split, and a figure of accuracy against the PGD radius with the S- and S^c-randomized
accuracy beside it.

Our choices (the paper is silent): the per-example attack whose perturbations give the SVD-UAP and
`pgd_acc` is l2 PGD at the UAP's radius, 20 steps of 2.5 ε / 20 from 0 (no random start: a random
start spreads budget over every coordinate, and the share on S should measure where the gradient
steps go); the UAPs are fitted on the first half of the test set and evaluated on the second half
(held out) and on the first; AS-UAP takes 50 full-batch steps from 0; model selection on a held-out
validation split (as for every synthetic claim).

`cpu`: 4 seeds, 2k val / 5k test per dataset, 20k train on LMS-5 and the paper's 100k on MS-(5,7);
`smoke`: 2 seeds, tiny sets, a few epochs (numbers meaningless; for the tests).
"""

import ml_collections

from simplicity_bias.config_base import synthetic_base, attack_settings


def get_config():
  c = synthetic_base("attacks_synthetic")
  c.model.width = 200
  c.model.depth = 1
  c.optim.weight_decay = 5e-4
  c.train.max_epochs = 200
  c.evals = ("sb", "uap", "robust")
  c.eval.attack_steps = 20
  c.eval.attack_random_start = False
  c.eval.uap_fit_fraction = 0.5
  c.eval.as_uap_steps = 50
  c.eval.attack_batch = 0
  c.eval.uap_eps = 1.0       # set per dataset from attacks.settings
  c.eval.attack_eps = 1.0    # the per-example PGD radius: the UAP's
  # The notebook's per-example attack for the share on S (06_uaps.ipynb): l2 PGD from 0 at
  # radius .5 R (R = data max − min), 20 steps of .05 R, inside [min, max]. R is taken over the
  # attacked test inputs (ours; the notebook takes it over the training inputs).
  c.eval.range_attack_fraction = 0.5
  c.eval.range_attack_step_fraction = 0.05
  c.eval.range_attack_steps = 20
  c.eval.robust_norm = "l2"
  c.eval.robust_steps = 20
  c.eval.robust_restarts = 1
  c.eval.robust_eps = (0.0,)  # set per dataset: robust_eps_fractions x the UAP radius
  c.eval.robust_eps_fractions = (0.0, 0.25, 0.5, 0.75, 1.0)
  c.attacks = ml_collections.ConfigDict()
  c.attacks.datasets = ("lms5", "ms57")
  c.attacks.settings = ml_collections.ConfigDict({
      "lms5": attack_settings(stop_rule="loss", stop_eps=0.01, uap_eps=1.0,
                                         num_train=100_000, num_val=10_000, num_test=10_000),
      # patience: the notebook checks its stop rule every 5,000 updates and trains 1,000 more
      # after it is met, so its MS-(5,7) model ends well past the jump off the plateau (15-16k
      # updates, train loss .025-.030); ours checks every epoch, so it keeps training 3,000
      # updates after the rule is met (ours), which ends at a train loss of .026-.028.
      "ms57": attack_settings(stop_rule="acc", stop_eps=0.01, uap_eps=0.5,
                                         num_train=100_000, num_val=10_000, num_test=50_000,
                                         patience=3000),
  })
  return c


PRESETS = {
    "cpu": {"num_seeds": 4,
            "attacks": {"settings": {
                "lms5": {"num_train": 20_000, "num_val": 2_000, "num_test": 5_000},
                # MS-(5,7) keeps the paper's 100k training points: at 20k (and without the
                # patience) the model stopped just past the plateau (test acc .977) and its
                # per-example PGD spent only 58% of its budget on S (norm ratio), against 95% at
                # 100k with the patience.
                "ms57": {"num_train": 100_000, "num_val": 2_000, "num_test": 5_000}}}},
    "smoke": {"num_seeds": 2, "train": {"max_epochs": 4},
              "eval": {"attack_steps": 5, "robust_steps": 5, "as_uap_steps": 5,
                       "robust_eps_fractions": (0.0, 1.0), "boundary_resolution": 24},
              "attacks": {"settings": {
                  "lms5": {"num_train": 2_000, "num_val": 500, "num_test": 1_000},
                  "ms57": {"num_train": 2_000, "num_val": 500, "num_test": 1_000}}},
              "progress": False},
}
