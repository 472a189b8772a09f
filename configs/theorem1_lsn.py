"""Theorem 1 of Pitfalls of SB: a one-hidden-layer ReLU net trained a few steps on LSN.

  python launch/train.py --config=configs/theorem1_lsn.py --workdir=/tmp/theorem1        # ~20 s
  python launch/train.py --config=configs/theorem1_lsn.py:theorem_init --workdir=/tmp/t1i
  python launch/train.py --config=configs/theorem1_lsn.py:smoke --workdir=/tmp/t1        # seconds

k = 100 hidden units with output weights fixed at ±1/√k, first layer W ~ N(0, 1/(dk)) trained by
8 full-batch hinge-loss steps (lr 1) on 20k LSN samples, d ∈ {100, 200, 400}, 8 seeds. Should
show, for every d: the linear weight |w_linear| grows from E|w_init| to ≈ 2/√k = 0.2 (growth ≈
√(2πd): ~25x at d = 100, ~50x at d = 400; results.json `linear_growth`) while the slab weight
and the noise weights stay at their initial scale (`slab_growth`, `noise_growth` ≤ 1.5), train
accuracy 1, S-randomized accuracy ≈ .5 and S^c-randomized accuracy ≈ 1. Figure
`weights_per_step.png`: the weights against the step, one panel per d.
`:theorem_init` uses the theorem's W ~ N(0, 1/(dk log⁴ d)); the slab and noise weights then
grow off their tiny init but stay below the theorem's scales 1/√(dk log d) and 1/√(k log d)
(`slab_over_theory`, `noise_over_theory` ≤ 1).

One gradient step per "epoch": train.batch_size = data.num_train (the full batch), so
train.max_epochs is the number of steps.
"""

import ml_collections

from simplicity_bias.config_base import synthetic_base


def get_config(preset: str = ""):
  c = synthetic_base("theorem1_lsn")
  c.data.name = "lsn"          # fixed: the theorem's dataset (not rotated)
  c.data.rotate = False
  c.data.num_train = 20_000    # one full batch
  c.data.num_val = 0           # unused: no model selection
  c.data.num_test = 5_000
  c.sweep = ml_collections.ConfigDict()
  c.sweep.dims = (100, 200, 400)
  c.model = ml_collections.ConfigDict()
  c.model.name = "fixed_output_relu"
  c.model.hidden = 100         # k, even: half the output weights +1/√k, half −1/√k
  c.model.bias = False         # the theorem's network has no bias
  c.model.init = "fan_in"      # W ~ N(0, (init_scale² / (d k))); 'theorem': / log⁴ d as well
  c.model.init_scale = 1.0
  c.objective.name = "hinge"
  c.optim.learning_rate = 1.0  # gradient descent on the mean hinge loss
  c.optim.weight_decay = 0.0
  c.train.batch_size = c.data.num_train
  c.train.max_epochs = 8       # gradient steps
  c.train.stop_rule = "none"
  c.train.select = "last"
  c.train.fresh_batches = False  # True: a fresh batch of data.num_train samples every step
  c.evals = ("sb",)
  if preset in ("", "cpu"):
    pass  # the default already runs in well under a minute on a CPU
  elif preset == "theorem_init":
    c.model.init = "theorem"
  elif preset == "smoke":
    c.num_seeds = 3
    c.data.num_train = 2_000
    c.train.batch_size = 2_000
    c.data.num_test = 1_000
    c.sweep.dims = (20, 40)
    c.model.hidden = 20
    c.progress = False
  else:
    raise ValueError(f"unknown preset {preset!r} for configs/theorem1_lsn.py; valid: cpu, "
                     "theorem_init, smoke")
  return c
