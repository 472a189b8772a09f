"""CIFAR-style ResNets (He et al., 2016) as Flax Linen modules.

The CIFAR variant swaps ImageNet's 7x7 stride-2 stem and max-pool for a single 3x3 stride-1 conv, so
a 32px image still has 4x4 resolution left after the three stride-2 stages. The network ends in
global average pooling rather than a fixed-size pool, so any input with H, W >= 32 works (the 64x32
MNIST-CIFAR images included).

Layer sizes and bias choices follow the widely used CIFAR ResNets, so ``resnet18(num_classes=10)``
has the familiar 11,173,962 parameters. ``base_width`` shrinks every stage proportionally, which
gives a cheap "small ResNet" for CPU tests without a second architecture to maintain.
"""

import functools
from typing import Sequence, Type

import flax.linen as nn
import jax.numpy as jnp

from simplicity_bias.models import matmul_conv, register

# He-normal fan-out init: keeps activation variance stable through ReLU conv stacks.
CONV_INIT = nn.initializers.variance_scaling(2.0, "fan_out", "normal")
CONV_IMPLS = ("xla", "matmul", "im2col")
_CONV_FNS = {"xla": None, "matmul": matmul_conv.conv_general_dilated,
             "im2col": functools.partial(matmul_conv.conv_general_dilated, max_positions=None)}


def conv(features: int, kernel_size: int, strides: int = 1, name=None,
         impl: str = "xla") -> nn.Conv:
  """Bias-free conv with symmetric 'k // 2' padding.

  Symmetric padding (not Flax's 'SAME', which pads stride-2 convs only at the end) keeps the
  sampling grid identical to the reference CIFAR ResNets. The bias is dropped because the
  BatchNorm that always follows has its own shift. ``impl='matmul'``: the shapes that XLA:CPU
  convolves slowly as matrix products (:mod:`simplicity_bias.models.matmul_conv`), same
  parameters; ``impl='im2col'``: every convolution as a matrix product (for members trained
  together under ``vmap``, where XLA's convolutions become grouped convolutions).
  """
  if impl not in CONV_IMPLS:
    raise ValueError(f"unknown conv_impl {impl!r}; valid: {', '.join(CONV_IMPLS)}")
  pad = kernel_size // 2
  return nn.Conv(
      features, (kernel_size, kernel_size), strides=(strides, strides),
      padding=((pad, pad), (pad, pad)), use_bias=False, kernel_init=CONV_INIT, name=name,
      conv_general_dilated=_CONV_FNS[impl])


def batch_norm(train: bool, name=None) -> nn.BatchNorm:
  """BatchNorm with PyTorch-equivalent statistics (momentum 0.1 there is 0.9 here)."""
  return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, name=name)


class BasicBlock(nn.Module):
  """Two 3x3 convs with an identity (or 1x1 projection) shortcut; used by ResNet-18/34."""
  features: int
  strides: int = 1
  conv_impl: str = "xla"

  expansion = 1  # Output channels per unit of ``features``; class constant, not a field.

  @nn.compact
  def __call__(self, x, train: bool):
    y = conv(self.features, 3, self.strides, impl=self.conv_impl)(x)
    y = nn.relu(batch_norm(train)(y))
    y = conv(self.features, 3, impl=self.conv_impl)(y)
    y = batch_norm(train)(y)
    return nn.relu(y + _shortcut(x, y, self.strides, train, self.conv_impl))


class Bottleneck(nn.Module):
  """1x1 reduce, 3x3, 1x1 expand (x4) block; used by ResNet-50."""
  features: int
  strides: int = 1
  conv_impl: str = "xla"

  expansion = 4

  @nn.compact
  def __call__(self, x, train: bool):
    y = conv(self.features, 1, impl=self.conv_impl)(x)
    y = nn.relu(batch_norm(train)(y))
    y = conv(self.features, 3, self.strides, impl=self.conv_impl)(y)
    y = nn.relu(batch_norm(train)(y))
    y = conv(self.features * self.expansion, 1, impl=self.conv_impl)(y)
    y = batch_norm(train)(y)
    return nn.relu(y + _shortcut(x, y, self.strides, train, self.conv_impl))


def _shortcut(x, y, strides: int, train: bool, impl: str = "xla"):
  """Identity when shapes agree, otherwise a strided 1x1 conv + BN projection to ``y``'s shape.

  Must be called from inside a block's compact ``__call__`` so the projection's parameters belong
  to that block.
  """
  if x.shape == y.shape:
    return x
  x = conv(y.shape[-1], 1, strides, name="shortcut_conv", impl=impl)(x)
  return batch_norm(train, name="shortcut_bn")(x)


class ResNet(nn.Module):
  """CIFAR ResNet: 3x3 stem, four stages (stride 1, 2, 2, 2), global average pool, linear head.

  Attributes:
    stage_sizes: number of blocks in each of the four stages.
    block: ``BasicBlock`` or ``Bottleneck``.
    num_classes: width of the logits; 2 for the binary simplicity-bias datasets.
    base_width: channels of the stem and first stage, doubled at each later stage (64 is
      standard; 16 gives a ~16x cheaper network for tests).
    stem_pool: a 3x3 stride-2 max-pool after the stem (no parameters; halves every later
      feature map). The simplicity-bias paper's ResNet-50 has it, so ``resnet50`` turns it on
      by default; ``resnet18`` / ``resnet34`` keep the plain CIFAR stem.
    conv_impl: 'xla' (``lax.conv_general_dilated``), 'matmul' (the convolutions XLA:CPU runs
      slowly as matrix products: ~3x faster ResNet-50 training on a 2-core CPU, same
      parameters, results equal to float rounding) or 'im2col' (every convolution as a matrix
      product: faster for members vmapped together on a CPU); see ``benchmarks/RESULTS.md``.
  """
  stage_sizes: Sequence[int]
  block: Type[nn.Module]
  num_classes: int = 2
  base_width: int = 64
  stem_pool: bool = False
  conv_impl: str = "xla"

  @nn.compact
  def __call__(self, x, train: bool):
    x = conv(self.base_width, 3, name="stem_conv", impl=self.conv_impl)(x)
    x = nn.relu(batch_norm(train, name="stem_bn")(x))
    if self.stem_pool:
      x = nn.max_pool(x, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))
    for stage, num_blocks in enumerate(self.stage_sizes):
      for index in range(num_blocks):
        strides = 2 if stage > 0 and index == 0 else 1
        x = self.block(self.base_width * 2**stage, strides, conv_impl=self.conv_impl,
                       name=f"stage{stage + 1}_block{index + 1}")(x, train)
    x = jnp.mean(x, axis=(1, 2))
    return nn.Dense(self.num_classes, name="head")(x)


@register("resnet18")
def resnet18(num_classes: int = 2, base_width: int = 64, stem_pool: bool = False,
             conv_impl: str = "xla") -> ResNet:
  return ResNet((2, 2, 2, 2), BasicBlock, num_classes=num_classes, base_width=base_width,
                stem_pool=stem_pool, conv_impl=conv_impl)


@register("resnet34")
def resnet34(num_classes: int = 2, base_width: int = 64, stem_pool: bool = False,
             conv_impl: str = "xla") -> ResNet:
  return ResNet((3, 4, 6, 3), BasicBlock, num_classes=num_classes, base_width=base_width,
                stem_pool=stem_pool, conv_impl=conv_impl)


@register("resnet50")
def resnet50(num_classes: int = 2, base_width: int = 64, stem_pool: bool = True,
             conv_impl: str = "xla") -> ResNet:
  return ResNet((3, 4, 6, 3), Bottleneck, num_classes=num_classes, base_width=base_width,
                stem_pool=stem_pool, conv_impl=conv_impl)
