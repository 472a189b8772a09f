"""Simplified BlockMNIST and the poster's theorem: wide one-hidden-layer ReLU networks leak,
adversarially trained ones do not ("Do Input Gradients Highlight Discriminative Features?").

  python launch/train.py --config=configs/block_mnist_theory.py --workdir=W        # widths to 16k
  python launch/train.py --config=configs/block_mnist_theory.py:cpu --workdir=W    # reduced
  python launch/train.py --config=configs/block_mnist_theory.py:smoke --workdir=W  # seconds

d blocks of b = 4 coordinates: the signal y·mu (mu = 1) in one of the first d/2 blocks (per
instance), the other first-half blocks 0, the last d/2 blocks N(0, sigma²) noise; d ∈ {8, 16},
sigma ∈ {.5, 1}. One-hidden-layer ReLU networks of width 1,000 / 4,000 / 16,000 trained long on
cross-entropy (toward the max-margin solution), standard and l-inf adversarially trained
(ε = .3, 10-step PGD), 4 seeds; (d, width, training) are cells, sigma and the seeds members of
one program. Should show, at the largest width: standard models' gradients are about as large on
every first-half block as on the instance's signal block (`signal_ratio` ≈ 1, `p_argmax_signal`
far from 1: leakage); robust models put their largest gradient on the signal block
(`p_argmax_signal` ≈ 1). Figures: `gradient_blocks_d*.png` (gradient norm per block),
`p_argmax_signal.png`.

Our choices (the poster gives none; all are config fields): b = 4 (`data.block_size`), mu = 1,
the sigmas, d, the widths, 2,000 training points, SGD lr .05 with momentum .9, batch 100, 300
epochs, PyTorch's default initialisation, and the radius ε = .3 (large enough that a linear
rule, which spreads its weight over all d/2 first-half blocks, is not robust for d ≥ 8).
`:cpu`: widths 500 / 2,000, 1,000 training points, 150 epochs, 5 PGD steps.
"""

import ml_collections

from simplicity_bias.config_base import VECTOR_MODEL_FIELDS, common, adversarial_objective


def get_config():
  c = common(ml_collections.ConfigDict(), "block_mnist_theory")
  c.num_seeds = 4
  c.data = ml_collections.ConfigDict()
  c.data.source = "simplified_block_mnist"
  c.data.num_blocks = 8            # set per cell from sweep.num_blocks
  c.data.block_size = 4
  c.data.mu = 1.0
  c.data.sigmas = (0.5, 1.0)       # grid points of every cell's program
  c.data.num_train = 2_000
  c.data.num_test = 2_000
  c.model = ml_collections.ConfigDict({"name": "fcn", **VECTOR_MODEL_FIELDS})
  c.model.depth = 1                # one hidden ReLU layer; model.width set per cell
  c.optim = ml_collections.ConfigDict()
  c.optim.name = "sgd"
  c.optim.learning_rate = 0.05
  c.optim.momentum = 0.9
  c.optim.weight_decay = 0.0
  c.optim.decay_epochs = ()
  c.optim.decay_factor = 0.2
  c.train = ml_collections.ConfigDict()
  c.train.batch_size = 100
  c.train.max_epochs = 300
  c.train.stop_rule = "none"
  c.train.select = "last"
  c.train.eval_every = 0
  c.train.eval_batch_size = 4096
  c.sweep = ml_collections.ConfigDict()
  c.sweep.num_blocks = (8, 16)
  c.sweep.widths = (1_000, 4_000, 16_000)
  c.sweep.standard = True
  c.sweep.linf_eps = (0.3,)
  c.sweep.l2_eps = ()
  c.adversarial = adversarial_objective(num_steps=10)
  c.evals = ("block_attribution",)
  c.eval = ml_collections.ConfigDict()
  c.eval.attribution_method = "grad_logit"
  return c


PRESETS = {
    "cpu": {"sweep": {"widths": (500, 2_000)}, "data": {"num_train": 1_000},
            "train": {"max_epochs": 150}, "adversarial": {"num_steps": 5}},
    "smoke": {"num_seeds": 2, "sweep": {"num_blocks": (4,), "widths": (64,)},
              "data": {"sigmas": (0.5,), "num_train": 400, "num_test": 400},
              "train": {"max_epochs": 20}, "adversarial": {"num_steps": 3}, "progress": False},
}
