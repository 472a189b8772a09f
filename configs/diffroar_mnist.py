"""DiffROAR on MNIST with MLPs: a panel the poster does not show (an extension).

  python launch/train.py --config=configs/diffroar_mnist.py --workdir=W
  python launch/train.py --config=configs/diffroar_mnist.py:cpu --workdir=W     # CPU
  python launch/train.py --config=configs/diffroar_mnist.py:smoke --workdir=W   # seconds

As `configs/diffroar_fashion_mnist.py` (method, choices and outputs are described there) on
MNIST, with sources: a standard MLP, MLPs adversarially trained at l-inf ε .05 and .1 and l2 ε .5
and 1 (our choice: radii an MLP trained from scratch survives; at l-inf .2-.3 it collapses to a
constant prediction), a linear model and a random attribution. Should show
the poster's pattern (no published value for this panel; claims are extensions, reported and not
counted): robust models' DiffROAR at k = .05 above the standard model's; random ≈ 0 at every k;
k = 1 gives 0. `:cpu`: 4,000 training / 2,000 test images, 6 epochs, 4 seeds, k ∈ {.05, .1, .2, .5, 1}.
"""

from simplicity_bias.config_base import DIFFROAR_SMOKE, diffroar_base, diffroar_cpu, merge


def get_config():
  c = diffroar_base("mnist")
  c.sweep.linf_eps = (0.05, 0.1)
  c.sweep.l2_eps = (0.5, 1.0)
  return c


PRESETS = {
    "cpu": diffroar_cpu(),
    "smoke": merge(DIFFROAR_SMOKE, {"sweep": {"linf_eps": (), "l2_eps": ()}}),
}
