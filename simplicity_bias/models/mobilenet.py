"""MobileNetV2 (Sandler et al., 2018), CIFAR variant, as a Flax Linen module.

ImageNet MobileNetV2 downsamples 32x (stride-2 stem plus four stride-2 stages), which would leave a
32px image at 1x1 before the last stages. The CIFAR variant uses a stride-1 stem and makes the
second stage (24 channels) stride 1 as well, so only three stride-2 stages remain and a 32px input
ends at 4x4. It follows the widely used CIFAR MobileNetV2: plain ReLU, the 1x1 expansion conv kept
even for expansion 1, and a 1x1 conv + BN projection shortcut on stride-1 blocks that change width,
so ``mobilenetv2(num_classes=10)`` has the familiar 2,296,922 parameters. Global average pooling at
the end lets any input with H, W >= 32 through.
"""

from typing import Sequence, Tuple

import flax.linen as nn
import jax.numpy as jnp

from simplicity_bias.models import register

# Stages as (expansion, output channels, blocks, stride of the first block). Second stage: stride 1
# instead of ImageNet's 2, the CIFAR adjustment.
CIFAR_STAGES = (
    (1, 16, 1, 1),
    (6, 24, 2, 1),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)

# He-normal fan-out init: keeps activation variance stable through ReLU conv stacks.
CONV_INIT = nn.initializers.variance_scaling(2.0, "fan_out", "normal")


def conv(features: int, kernel_size: int, strides: int = 1, groups: int = 1,
         name=None) -> nn.Conv:
  """Bias-free conv with symmetric 'k // 2' padding; ``groups=features`` makes it depthwise."""
  pad = kernel_size // 2
  return nn.Conv(
      features, (kernel_size, kernel_size), strides=(strides, strides),
      padding=((pad, pad), (pad, pad)), feature_group_count=groups, use_bias=False,
      kernel_init=CONV_INIT, name=name)


def batch_norm(train: bool, name=None) -> nn.BatchNorm:
  """BatchNorm with PyTorch-equivalent statistics (momentum 0.1 there is 0.9 here)."""
  return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, name=name)


class InvertedResidual(nn.Module):
  """1x1 expand, 3x3 depthwise, linear 1x1 project; residual only on stride-1 blocks."""
  expansion: int
  features: int
  strides: int = 1

  @nn.compact
  def __call__(self, x, train: bool):
    hidden = self.expansion * x.shape[-1]
    y = nn.relu(batch_norm(train)(conv(hidden, 1)(x)))
    y = nn.relu(batch_norm(train)(conv(hidden, 3, self.strides, groups=hidden)(y)))
    # No ReLU after the projection: the paper's linear bottleneck, which avoids losing information
    # in the narrow representation.
    y = batch_norm(train)(conv(self.features, 1)(y))
    if self.strides != 1:
      return y
    if x.shape[-1] != self.features:
      x = batch_norm(train, name="shortcut_bn")(conv(self.features, 1, name="shortcut_conv")(x))
    return y + x


class MobileNetV2(nn.Module):
  """CIFAR MobileNetV2: 3x3 stride-1 stem, inverted-residual stages, 1x1 to 1280, GAP, linear.

  Attributes:
    stages: (expansion, channels, blocks, first stride) per stage.
    num_classes: width of the logits; 2 for the binary simplicity-bias datasets.
  """
  stages: Sequence[Tuple[int, int, int, int]] = CIFAR_STAGES
  num_classes: int = 2

  @nn.compact
  def __call__(self, x, train: bool):
    x = nn.relu(batch_norm(train, name="stem_bn")(conv(32, 3, name="stem_conv")(x)))
    for stage, (expansion, features, num_blocks, first_stride) in enumerate(self.stages):
      for index in range(num_blocks):
        strides = first_stride if index == 0 else 1
        x = InvertedResidual(expansion, features, strides,
                             name=f"stage{stage + 1}_block{index + 1}")(x, train)
    x = nn.relu(batch_norm(train, name="last_bn")(conv(1280, 1, name="last_conv")(x)))
    x = jnp.mean(x, axis=(1, 2))
    return nn.Dense(self.num_classes, name="head")(x)


@register("mobilenetv2")
def mobilenetv2(num_classes: int = 2) -> MobileNetV2:
  return MobileNetV2(num_classes=num_classes)
