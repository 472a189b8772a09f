"""BlockMNIST feature leakage ("Do Input Gradients Highlight Discriminative Features?", §4).

  python launch/train.py --config=configs/block_mnist.py --workdir=W         # paper-size (GPU)
  python launch/train.py --config=configs/block_mnist.py:cpu --workdir=W     # MLPs + a small ResNet
  python launch/train.py --config=configs/block_mnist.py:smoke --workdir=W   # seconds, mock data

56x28x1 images: an MNIST digit (0 or 1, the label) and a fixed null patch (a square with an X,
no label information), the digit on top or at the bottom at random. A 2-hidden-layer MLP and a
ResNet-18 (1 input channel), each trained standard and adversarially (l-inf ε .05 and .1, l2 ε 1
and 2; 10-step PGD), 4 seeds. Should show: the standard models put a large share of their
top-k input-gradient pixels on the null block (`null_topk` ≈ .3-.6, published 44-48%; chance
.5), the robust models concentrate on the digit (`null_topk` ≤ .3, published <1% to 30%).
Figures: `attribution_maps.png` (images and every model's gradient map), `null_block_share.png`.

Our choices (the paper leaves them open; all are config fields): image size 56x28 and the null
patch (data/block_mnist.py), classes 0 vs 1 (`data.classes`), the whole MNIST train / test
splits balanced per class (`data.num_train`, `data.num_test`; 0 = all), the MLP width 256
(`model.width`), SGD lr .05 with momentum .9 and weight decay 5e-4, batch 128, 15 epochs
(`optim`, `train`), the radii (`sweep.linf_eps`, `sweep.l2_eps`) and PGD settings
(`adversarial`: 10 steps of 2.5 ε / 10, one random start, inputs kept in [0, 1]).
(an MLP adversarially trained at l-inf .2 or .3 from scratch collapses to a constant, chance
prediction here, with SGD lr .05 and .01 alike). `:cpu`: 3,000
training images, 4 epochs, the MLP with all five trainings and a 4-wide ResNet-18 standard only
(robust ResNets: the default, on a GPU), 1,000 test images for the attribution metrics.
`configs/block_mnist_top.py` is BlockMNIST-Top.
"""

import ml_collections

from simplicity_bias.config_base import image_base, adversarial_objective


def base(experiment: str = "block_mnist") -> ml_collections.ConfigDict:
  c = image_base(experiment)
  c.num_seeds = 4
  c.data = ml_collections.ConfigDict()
  c.data.source = "block_mnist"
  c.data.digit_source = "mnist"   # 'sklearn_digits': offline stand-in, not MNIST
  c.data.data_dir = ""
  c.data.classes = "0,1"          # our choice; 'all' = the ten digits
  c.data.placement = "random"     # 'top': BlockMNIST-Top
  c.data.null = "patch"           # 'zero': a black null block
  c.data.num_train = 0            # 0 = every training digit of the classes (balanced)
  c.data.num_test = 0
  c.model = ml_collections.ConfigDict({
      "name": "mlp", "width": 256, "depth": 2, "init": "pytorch",   # the MLP (our width)
      "base_width": 64, "growth_rate": 32,                          # ResNet-18 (1 channel)
      "conv_impl": "xla"})   # 'im2col', 'matmul': faster ResNets on a CPU (benchmarks/RESULTS.md)
  c.model.stem_pool = ml_collections.config_dict.placeholder(bool)
  c.optim.learning_rate = 0.05
  c.optim.momentum = 0.9
  c.optim.weight_decay = 5e-4
  c.optim.decay_epochs = 0
  c.train.batch_size = 128
  c.train.max_epochs = 15
  c.train.stop_rule = "none"
  c.train.select = "last"
  c.train.eval_batch_size = 512
  c.train.check_size = 2000
  c.sweep = ml_collections.ConfigDict()
  c.sweep.models = "mlp,resnet18"
  c.sweep.standard = True
  c.sweep.robust_models = ""      # models that are also trained adversarially ('' = all)
  c.sweep.linf_eps = (0.05, 0.1)   # an MLP trained at l-inf .2 or .3 collapses to chance
  c.sweep.l2_eps = (1.0, 2.0)
  c.adversarial = adversarial_objective(num_steps=10, box=(0.0, 1.0))
  c.evals = ("attribution",)
  c.eval = ml_collections.ConfigDict()
  c.eval.attribution_method = "grad_logit"   # gradient of the true-class logit
  c.eval.topk_fractions = (0.025, 0.05, 0.1, 0.2, 0.3)
  c.eval.attribution_chunk = 256
  c.eval.attribution_examples = 0            # 0 = every test image
  c.eval.attribution_show = 8
  return c


def reduce_for_cpu(c) -> None:
  """The MLP with every training, a 4-wide ResNet-18 standard only: XLA:CPU runs the members'
  vmapped convolutions slowly, so adversarial training of a ResNet is impractical on a CPU (the
  measurements: benchmarks/RESULTS.md). Every convolution as a matrix product
  (``conv_impl='im2col'``, faster for vmapped members on a CPU, equal to 'xla' up to float
  rounding)."""
  c.model.conv_impl = "im2col"
  c.data.num_train = 3_000
  c.train.max_epochs = 4
  c.eval.attribution_examples = 1_000
  c.model.base_width = 4
  c.sweep.robust_models = "mlp"


def reduce_for_tests(c) -> None:
  """Seconds, offline: the MLP alone (a ResNet's compilation alone is slow on a CPU), on
  generated mock MNIST (simplicity_bias/data/mock.py)."""
  c.num_seeds = 2
  c.sweep.models = "mlp"
  c.data.data_dir = "mock"
  c.data.num_train = 400
  c.data.num_test = 100
  c.model.width = 32
  c.model.base_width = 4
  c.train.batch_size = 50
  c.train.max_epochs = 3
  c.train.eval_batch_size = 128
  c.adversarial.num_steps = 2
  c.eval.attribution_chunk = 64
  c.eval.attribution_show = 4
  c.progress = False
  c.num_devices = 1


# What the paper-size (default) preset needs besides time (a constraint, not a measurement;
# simplicity_bias/report/costs.py reads the measured times from reproduction/).
PAPER_SIZE_NEEDS = 'a GPU: ResNet-18s trained adversarially on 12k images'


def get_config(preset: str = ""):
  c = base()
  if preset == "cpu":
    reduce_for_cpu(c)
  elif preset == "smoke":
    reduce_for_tests(c)
    c.sweep.linf_eps = (0.1,)
    c.sweep.l2_eps = ()
  elif preset:
    raise ValueError(f"unknown preset {preset!r} for configs/block_mnist.py; valid: cpu, smoke")
  return c
