"""CIFAR-only automobile vs truck (Pitfalls of SB §4): the block MNIST-CIFAR models ignore is
predictive on its own.

  python launch/train.py --config=configs/cifar_only.py --workdir=W       # GoogLeNet (GPU)
  python launch/train.py --config=configs/cifar_only.py:cpu --workdir=W   # small ResNet, CPU

Needs CIFAR-10 prepared for tfds (see README). Should show test accuracy ≈ .95 (published 95.4%
for GoogLeNet): a network that relied on both blocks of MNIST-CIFAR could have used this one.
`--config.data.variant=C` gives airplane vs ship (variant C's classes).
"""

from simplicity_bias.config_base import image_base, reduce_for_cpu, reduce_for_tests


# What the paper-size (default) preset needs besides time (a constraint, not a measurement;
# simplicity_bias/report/costs.py reads the measured times from reproduction/).
PAPER_SIZE_NEEDS = 'a GPU: GoogLeNet, 40 epochs'


def get_config(preset: str = ""):
  c = image_base()
  if preset != "smoke":
    c.num_seeds = 4  # a counted claim needs at least 4 seeds (reproduction/ledger)
  c.data.source = "cifar_only"
  c.model.name = "googlenet"
  # CIFAR alone needs more than 2-3 epochs: train a fixed budget with the rate decay at 30.
  c.train.stop_rule = "none"
  c.train.max_epochs = 40
  if preset == "cpu":
    reduce_for_cpu(c)
    c.train.max_epochs = 15
    c.optim.decay_epochs = 10
  elif preset == "smoke":
    reduce_for_tests(c)
    c.train.max_epochs = 2
  elif preset:
    raise ValueError(f"unknown preset {preset!r} for configs/cifar_only.py; valid: cpu, smoke")
  return c
