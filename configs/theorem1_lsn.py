"""Theorem 1 of Pitfalls of SB in its own setting: a one-hidden-layer ReLU net on LSN.

  python launch/train.py --config=configs/theorem1_lsn.py --workdir=/tmp/theorem1
  python launch/train.py --config=configs/theorem1_lsn.py:fan_in_8steps --workdir=/tmp/t1v
  python launch/train.py --config=configs/theorem1_lsn.py:smoke --workdir=/tmp/t1         # seconds

The theorem's setting (§4.1, App. F; `cpu` is the same): k = 100 hidden units with output weights
fixed at ±1/√k, first layer W ~ N(0, 1/(dk log⁴ d)) (`model.init='theorem'`), no bias, trained
by full-batch hinge-loss gradient steps (η = 1) on a fresh batch of m = d² LSN samples at every
step (`train.fresh_batches`, `sweep.m_over_d2`), stopped at the theorem's horizon
t ≤ (4/η)(1 − c/√log d) (`sweep.horizon`): 2 steps for d ∈ {100, 200, 400}; 8 seeds. Should
show, for every d: |w_linear| = the theorem's (2/√k)(tη/4) at the horizon (`linear_over_horizon`
in [.9, 1.1]), the slab weight and the noise weights' norm below the theorem's scales
1/√(dk log d) and 1/√(k log d) (`slab_over_theory`, `noise_over_theory` ≤ 1), S-randomized
accuracy ≈ .5 and S^c-randomized ≈ 1. Figure `weights_per_step.png`: the weights against the step.

Our choices (the theorem leaves them open; config fields): the constant c = 1 of the horizon
(`sweep.horizon_c`), m = d² (the theorem's m ≥ c·d² with c = 1), the O(·) constants = 1 in the
scales, the 5,000 test points.

Variants (labelled; their claims are extensions, not counted):
`:fan_in_8steps` — the earlier run: W ~ N(0, 1/(dk)), the same 20k-sample batch every step,
8 steps (past the horizon: |w_linear| overshoots to ≈ 1.1 x 2/√k); it checks the linear weight's
growth from its init against √(2πd) (25x / 35x / 50x at d = 100 / 200 / 400: our derivation,
not published numbers). `:theorem_init_8steps` — the same with the theorem's init.

One gradient step per "epoch": train.batch_size = data.num_train (the full batch), so
train.max_epochs is the number of steps (set per d by the horizon when `sweep.horizon`).
"""

import ml_collections

from simplicity_bias.config_base import merge, synthetic_base


def get_config():
  c = synthetic_base("theorem1_lsn")
  c.data.name = "lsn"          # fixed: the theorem's dataset (not rotated)
  c.data.rotate = False
  c.data.num_train = 20_000    # one full batch
  c.data.num_val = 0           # unused: no model selection
  c.data.num_test = 5_000
  c.sweep = ml_collections.ConfigDict()
  c.sweep.dims = (100, 200, 400)
  c.sweep.m_over_d2 = 1.0      # m = ⌈m_over_d2 · d²⌉ per d (0: data.num_train for every d)
  c.sweep.horizon = True       # steps per d = ⌊(4/η)(1 − c/√log d)⌋ (False: train.max_epochs)
  c.sweep.horizon_c = 1.0      # c: ours (the theorem's constant is not given)
  c.model = ml_collections.ConfigDict()
  c.model.name = "fixed_output_relu"
  c.model.hidden = 100         # k, even: half the output weights +1/√k, half −1/√k
  c.model.bias = False         # the theorem's network has no bias
  c.model.init = "theorem"     # W ~ N(0, init_scale² / (d k log⁴ d)); 'fan_in': without log⁴ d
  c.model.init_scale = 1.0
  c.objective.name = "hinge"
  c.optim.learning_rate = 1.0  # gradient descent on the mean hinge loss
  c.optim.weight_decay = 0.0
  c.train.batch_size = c.data.num_train
  c.train.max_epochs = 8       # gradient steps when sweep.horizon is False
  c.train.stop_rule = "none"
  c.train.select = "last"
  c.train.fresh_batches = True   # a fresh batch of m samples every step (False: the same one)
  c.evals = ("sb",)
  return c


# The earlier run's settings (the variants of the docstring): the same batch every step, 8 steps.
_EIGHT_STEPS = {"sweep": {"m_over_d2": 0.0, "horizon": False}, "train": {"fresh_batches": False}}

PRESETS = {
    "cpu": {},  # the theorem's setting itself (`--print_config` shows its measured cost)
    "fan_in_8steps": merge(_EIGHT_STEPS, {"model": {"init": "fan_in"}}),
    "theorem_init_8steps": merge(_EIGHT_STEPS, {"model": {"init": "theorem"}}),
    "smoke": {"num_seeds": 3, "data": {"num_test": 1_000},
              "sweep": {"dims": (20, 40),
                        "m_over_d2": 2.0},  # 800 / 3,200 samples per step
              "model": {"hidden": 20}, "progress": False},
}
