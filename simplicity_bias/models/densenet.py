"""DenseNet-121 (Huang et al., 2017), CIFAR variant, as a Flax Linen module.

The CIFAR variant replaces ImageNet's 7x7 stride-2 stem and max-pool with one 3x3 stride-1 conv to
``2 * growth_rate`` channels, so the three transition pools take a 32px image down to 4x4. Every
dense layer is the BN-ReLU-conv1x1 (4k) / BN-ReLU-conv3x3 (k) bottleneck and transitions halve the
channels (compression 0.5); ``densenet121(num_classes=10)`` has the familiar 6,956,298 parameters.
Global average pooling at the end lets any input with H, W >= 32 through.
"""

import math
from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from simplicity_bias.models import register

# He-normal fan-out init: keeps activation variance stable through ReLU conv stacks.
CONV_INIT = nn.initializers.variance_scaling(2.0, "fan_out", "normal")


def conv(features: int, kernel_size: int) -> nn.Conv:
  """Stride-1 bias-free conv with 'k // 2' padding (a BN always precedes or follows it)."""
  pad = kernel_size // 2
  return nn.Conv(features, (kernel_size, kernel_size), padding=((pad, pad), (pad, pad)),
                 use_bias=False, kernel_init=CONV_INIT)


def batch_norm(train: bool) -> nn.BatchNorm:
  """BatchNorm with PyTorch-equivalent statistics (momentum 0.1 there is 0.9 here)."""
  return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5)


class DenseLayer(nn.Module):
  """Bottleneck layer whose ``growth_rate`` new channels are concatenated onto its input."""
  growth_rate: int

  @nn.compact
  def __call__(self, x, train: bool):
    y = conv(4 * self.growth_rate, 1)(nn.relu(batch_norm(train)(x)))
    y = conv(self.growth_rate, 3)(nn.relu(batch_norm(train)(y)))
    return jnp.concatenate([y, x], axis=-1)


class Transition(nn.Module):
  """BN-ReLU-conv1x1 to ``features`` channels, then 2x2 average pool to halve the resolution."""
  features: int

  @nn.compact
  def __call__(self, x, train: bool):
    x = conv(self.features, 1)(nn.relu(batch_norm(train)(x)))
    return nn.avg_pool(x, (2, 2), strides=(2, 2))


class DenseNet(nn.Module):
  """CIFAR DenseNet: 3x3 stem, dense blocks joined by transitions, BN-ReLU, GAP, linear head.

  Attributes:
    block_sizes: dense layers per block (6, 12, 24, 16 for DenseNet-121).
    growth_rate: channels each dense layer adds.
    compression: fraction of channels a transition keeps.
    num_classes: width of the logits; 2 for the binary simplicity-bias datasets.
  """
  block_sizes: Sequence[int]
  growth_rate: int = 32
  compression: float = 0.5
  num_classes: int = 2

  @nn.compact
  def __call__(self, x, train: bool):
    x = conv(2 * self.growth_rate, 3)(x)
    for block, num_layers in enumerate(self.block_sizes):
      for index in range(num_layers):
        x = DenseLayer(self.growth_rate, name=f"block{block + 1}_layer{index + 1}")(x, train)
      if block < len(self.block_sizes) - 1:
        features = int(math.floor(x.shape[-1] * self.compression))
        x = Transition(features, name=f"transition{block + 1}")(x, train)
    x = nn.relu(batch_norm(train)(x))
    x = jnp.mean(x, axis=(1, 2))
    return nn.Dense(self.num_classes, name="head")(x)


@register("densenet121")
def densenet121(num_classes: int = 2, growth_rate: int = 32) -> DenseNet:
  return DenseNet((6, 12, 24, 16), growth_rate=growth_rate, num_classes=num_classes)
