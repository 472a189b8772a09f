"""DiffROAR on Fashion-MNIST with MLPs (the poster of "Do Input Gradients Highlight
Discriminative Features?"): robust models' input gradients rank predictive pixels first,
standard models' barely better than random.

  python launch/train.py --config=configs/diffroar_fashion_mnist.py --workdir=W
  python launch/train.py --config=configs/diffroar_fashion_mnist.py:cpu --workdir=W    # CPU
  python launch/train.py --config=configs/diffroar_fashion_mnist.py:smoke --workdir=W  # seconds

Sources: a standard MLP, MLPs adversarially trained at l-inf ε 4/255 and 16/255 and l2 ε .5
and 1 (the poster's), a linear model and a random attribution. For k in {.05, .1, .2, ..., 1}
each training and test image keeps the fraction k of its pixels with the highest (top-k) or
lowest (bottom-k) |gradient of the true-class logit|, the rest black; a fresh MLP is trained on
the masked training set and tested on the masked test set; DiffROAR = accuracy(top-k) −
accuracy(bottom-k). Should show (published, k ≈ .05): standard ≈ .03, the most robust ≈ .17,
robust above standard, increasingly with ε; random ≈ 0 at every k; k = 1 gives 0. Outputs:
`diffroar.png` (DiffROAR vs k with 95% CI bands per source), `diffroar.csv` (one row per
source, attribution, k, side, seed).

The Fashion-MNIST imported here has a fixed train/test split that is not the official one: every
result says so. Our choices (the poster gives none): the MLP (2 hidden layers of 256), SGD lr .05
with momentum .9 and weight decay 5e-4, batch 128, 20 epochs for every source and retrained
model, 10-step PGD (2.5 ε / 10 per step, inputs kept in [0, 1]), 4 seeds.
`:cpu`: 4,000 training / 2,000 test images, 6 epochs, 4 seeds, k ∈ {.05,
.1, .2, .5, 1}.
"""

from simplicity_bias.config_base import DIFFROAR_SMOKE, diffroar_base, diffroar_cpu, merge


def get_config():
  c = diffroar_base("fashion_mnist")
  c.sweep.linf_eps = (4 / 255, 16 / 255)
  c.sweep.l2_eps = (0.5, 1.0)
  c.diffroar.published.standard = 0.03
  c.diffroar.published.robust = 0.17
  c.diffroar.published.robust_source = "linf 16/255"
  c.diffroar.published.model_class = "mlp"
  return c


PRESETS = {
    "cpu": diffroar_cpu(),
    "smoke": merge(DIFFROAR_SMOKE, {"sweep": {"linf_eps": (16 / 255,), "l2_eps": (),
                                              "linear": False}}),
}
