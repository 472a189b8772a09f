"""CIFAR-only automobile vs truck (Pitfalls of SB §4): the block MNIST-CIFAR models ignore is
predictive on its own.

  python launch/train.py --config=configs/cifar_only.py --workdir=W       # GoogLeNet (GPU)
  python launch/train.py --config=configs/cifar_only.py:cpu --workdir=W   # small ResNet, CPU

Needs CIFAR-10 prepared for tfds (see README). Should show test accuracy ≈ .95 (published 95.4%
for GoogLeNet): a network that relied on both blocks of MNIST-CIFAR could have used this one.
`--config.data.variant=C` gives airplane vs ship (variant C's classes).

The `:cpu` preset (real CIFAR-10, 3 seeds) reaches about .91 test accuracy with every seed at train
accuracy 1.000, below the band [.93, .98] around GoogLeNet's .954 (its run:
reproduction/cifar_only.json). The preset is ours and smaller in two ways, either of which may
explain the gap: a 16-wide ResNet-18 (a quarter of the standard width) in place of the paper's
GoogLeNet, and 15 epochs where the default preset trains 40 (the paper gives no epoch count for this
run; 40 is ours). The block is clearly predictive on its own (.91 against .5), which is what the
MNIST-CIFAR argument needs; the published number itself is not reached by the `:cpu` preset.
"""

from simplicity_bias.config_base import image_base
from simplicity_bias.experiments import mnist_cifar


# What the paper-size (default) preset needs besides time (a constraint, not a measurement;
# simplicity_bias/report/costs.py reads the measured times from reproduction/).
PAPER_SIZE_NEEDS = 'a GPU: GoogLeNet, 40 epochs'


def get_config(preset: str = ""):
  c = image_base()
  c.data.source = "cifar_only"
  c.model.name = "googlenet"
  # CIFAR alone needs more than 2-3 epochs: train a fixed budget with the rate decay at 30.
  c.train.stop_rule = "none"
  c.train.max_epochs = 40
  if preset == "cpu":
    mnist_cifar.reduce_for_cpu(c)
    c.train.max_epochs = 15
    c.optim.decay_epochs = 10
  elif preset == "smoke":
    mnist_cifar.reduce_for_tests(c)
    c.train.max_epochs = 2
  elif preset:
    raise ValueError(f"unknown preset {preset!r} for configs/cifar_only.py; valid: cpu, smoke")
  return c
