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

from simplicity_bias.config_base import CPU_IMAGES, SMOKE_IMAGES, image_base, merge


# What the paper-size (default) preset needs besides time (a constraint, not a measurement;
# simplicity_bias/report/costs.py reads the measured times from reproduction/).
PAPER_SIZE_NEEDS = "a GPU: 9 ResNet-50s"


def get_config():
  c = image_base()
  c.members.group_size = 3
  c.num_seeds = 4
  return c


PRESETS = {
    # mnist_cifar's `cpu` network (8-wide ResNet-18 with the stem max-pool, 1/16 of the 16-wide
    # one's FLOPs): six 16-wide members are impractical on a CPU.
    "cpu": merge(CPU_IMAGES, {"model": {"base_width": 8, "stem_pool": True},
                              "data": {"num_train": 2_000}, "train": {"max_epochs": 10},
                              "num_seeds": 4}),
    "smoke": merge(SMOKE_IMAGES, {"members": {"group_size": 2}, "train": {"max_epochs": 4}}),
}
