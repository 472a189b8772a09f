"""Ensembles on MNIST-CIFAR (Pitfalls of SB §5, Fig. 6): averaging the logits of independently
trained ResNet-50s does not make them use the CIFAR block.

  python launch/train.py --config=configs/mnist_cifar_ensemble.py --workdir=W      # GPU
  python launch/train.py --config=configs/mnist_cifar_ensemble.py:cpu --workdir=W  # CPU

Needs MNIST and CIFAR-10 prepared for tfds (see README). num_seeds ensembles of
members.group_size members each train together in one program (members x data-parallel devices). Should show the
ensemble's MNIST-randomized AUC ≈ .5 like a single model's (reported beside it as
member_s_rand_auc), and CIFAR-randomized AUC ≈ 1.
`cpu`: 4 ensembles of 3 8-wide ResNet-18s (mnist_cifar's `cpu` network), 2,000 training images.
"""

from simplicity_bias.config_base import image_base, reduce_for_cpu, reduce_for_tests


# What the paper-size (default) preset needs besides time (a constraint, not a measurement;
# simplicity_bias/report/costs.py reads the measured times from reproduction/).
PAPER_SIZE_NEEDS = 'a GPU: 9 ResNet-50s'


def get_config(preset: str = ""):
  c = image_base()
  c.members.group_size = 3
  c.num_seeds = 4
  if preset == "cpu":
    reduce_for_cpu(c)
    # mnist_cifar's `cpu` network (8-wide ResNet-18 with the stem max-pool, 1/16 of the 16-wide
    # one's FLOPs): six 16-wide members are impractical on a CPU.
    c.model.base_width = 8
    c.model.stem_pool = True
    c.data.num_train = 2_000
    c.train.max_epochs = 10
    c.num_seeds = 4
  elif preset == "smoke":
    reduce_for_tests(c)
    c.members.group_size = 2
    c.train.max_epochs = 4
  elif preset:
    raise ValueError(f"unknown preset {preset!r} for configs/mnist_cifar_ensemble.py; valid: "
                     "cpu, smoke")
  return c
