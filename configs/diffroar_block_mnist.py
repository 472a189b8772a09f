"""DiffROAR on BlockMNIST with MLPs: a panel the poster does not show (an extension).

  python launch/train.py --config=configs/diffroar_block_mnist.py --workdir=W
  python launch/train.py --config=configs/diffroar_block_mnist.py:cpu --workdir=W    # CPU
  python launch/train.py --config=configs/diffroar_block_mnist.py:smoke --workdir=W  # seconds

As `configs/diffroar_fashion_mnist.py` (method and outputs are described there) on BlockMNIST
(digits 0 and 1 with the null patch, top or bottom at random; `configs/block_mnist.py` lists
the data choices), sources: a standard MLP, MLPs adversarially trained at l-inf ε .05 and .1 and
l2 ε 1 and 2 (as there), a linear model and a random attribution. On BlockMNIST only the digit block is
predictive, so an attribution that leaks onto the null block keeps fewer predictive pixels at
small k. Should show: robust models' DiffROAR at k = .05 above the standard model's; random ≈ 0;
k = 1 gives 0 (extension claims: reported, not counted). `:cpu`: 3,000 training / 1,000 test
images, 6 epochs, 4 seeds, k ∈ {.05, .1, .2, .5, 1}.
"""

from simplicity_bias.config_base import (DIFFROAR_SMOKE, block_mnist_base, diffroar_base,
                                         diffroar_cpu, merge)


def get_config():
  c = diffroar_base("mnist")
  c.data = block_mnist_base().data
  c.sweep.linf_eps = (0.05, 0.1)
  c.sweep.l2_eps = (1.0, 2.0)
  return c


PRESETS = {
    # 56x28 images: two programs keep the masked copies < 3 GB.
    "cpu": merge(diffroar_cpu(num_train=3_000), {"data": {"num_test": 1_000},
                                                 "diffroar": {"retrain_group": 4}}),
    "smoke": merge(DIFFROAR_SMOKE, {
        "data": {"num_train": 300, "num_test": 100}, "train": {"batch_size": 50},
        "sweep": {"linf_eps": (), "l2_eps": (), "linear": False}}),
}
