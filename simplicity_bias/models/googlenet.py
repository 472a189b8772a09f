"""GoogLeNet (Szegedy et al., 2015), CIFAR variant, as a Flax Linen module.

The CIFAR variant replaces ImageNet's stem (7x7 stride-2 conv, pools, 1x1 and 3x3 convs) with one
3x3 stride-1 conv to 192 channels, keeps the nine inception blocks with their original widths, and
adds BatchNorm after every conv (no auxiliary heads). Only the two max-pools between inception groups
downsample, so a 32px image reaches the last blocks at 8x8; global average pooling then lets any
input with H, W >= 32 through. As in the widely used CIFAR GoogLeNet, the "5x5" branch is two
stacked 3x3 convs and convs keep their biases, so ``googlenet(num_classes=10)`` has the familiar
6,166,250 parameters.
"""

from typing import Sequence, Tuple

import flax.linen as nn
import jax.numpy as jnp

from simplicity_bias.models import register

# Inception widths per block: (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool projection). "M" marks
# a 3x3 stride-2 max-pool between groups.
INCEPTION_BLOCKS = (
    ("3a", (64, 96, 128, 16, 32, 32)),
    ("3b", (128, 128, 192, 32, 96, 64)),
    "M",
    ("4a", (192, 96, 208, 16, 48, 64)),
    ("4b", (160, 112, 224, 24, 64, 64)),
    ("4c", (128, 128, 256, 24, 64, 64)),
    ("4d", (112, 144, 288, 32, 64, 64)),
    ("4e", (256, 160, 320, 32, 128, 128)),
    "M",
    ("5a", (256, 160, 320, 32, 128, 128)),
    ("5b", (384, 192, 384, 48, 128, 128)),
)

# He-normal fan-out init: keeps activation variance stable through ReLU conv stacks.
CONV_INIT = nn.initializers.variance_scaling(2.0, "fan_out", "normal")


class ConvBNReLU(nn.Module):
  """Stride-1 conv (with bias, as in the reference) followed by BatchNorm and ReLU."""
  features: int
  kernel_size: int

  @nn.compact
  def __call__(self, x, train: bool):
    pad = self.kernel_size // 2
    x = nn.Conv(self.features, (self.kernel_size, self.kernel_size),
                padding=((pad, pad), (pad, pad)), kernel_init=CONV_INIT)(x)
    x = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5)(x)
    return nn.relu(x)


def _max_pool_3x3(x, strides: int):
  """3x3 max-pool padded by 1 (with -inf, so padding never wins the max)."""
  return nn.max_pool(x, (3, 3), strides=(strides, strides), padding=((1, 1), (1, 1)))


class Inception(nn.Module):
  """Four parallel branches (1x1; 1x1-3x3; 1x1-3x3-3x3; pool-1x1) concatenated on channels."""
  widths: Tuple[int, int, int, int, int, int]

  @nn.compact
  def __call__(self, x, train: bool):
    n1x1, n3x3_reduce, n3x3, n5x5_reduce, n5x5, pool_proj = self.widths
    branch1 = ConvBNReLU(n1x1, 1, name="branch1x1")(x, train)
    branch2 = ConvBNReLU(n3x3_reduce, 1, name="branch3x3_reduce")(x, train)
    branch2 = ConvBNReLU(n3x3, 3, name="branch3x3")(branch2, train)
    branch3 = ConvBNReLU(n5x5_reduce, 1, name="branch5x5_reduce")(x, train)
    branch3 = ConvBNReLU(n5x5, 3, name="branch5x5_a")(branch3, train)
    branch3 = ConvBNReLU(n5x5, 3, name="branch5x5_b")(branch3, train)
    branch4 = ConvBNReLU(pool_proj, 1, name="branch_pool_proj")(_max_pool_3x3(x, 1), train)
    return jnp.concatenate([branch1, branch2, branch3, branch4], axis=-1)


class GoogLeNet(nn.Module):
  """CIFAR GoogLeNet: 3x3 stem to 192 channels, inception blocks 3a-5b, GAP, linear head.

  Attributes:
    blocks: ``(name, widths)`` per inception block, with "M" for a stride-2 max-pool.
    num_classes: width of the logits; 2 for the binary simplicity-bias datasets.
  """
  blocks: Sequence = INCEPTION_BLOCKS
  num_classes: int = 2

  @nn.compact
  def __call__(self, x, train: bool):
    x = ConvBNReLU(192, 3, name="stem")(x, train)
    for block in self.blocks:
      if block == "M":
        x = _max_pool_3x3(x, 2)
      else:
        name, widths = block
        x = Inception(widths, name=f"inception{name}")(x, train)
    x = jnp.mean(x, axis=(1, 2))
    return nn.Dense(self.num_classes, name="head")(x)


@register("googlenet")
def googlenet(num_classes: int = 2) -> GoogLeNet:
  return GoogLeNet(num_classes=num_classes)
