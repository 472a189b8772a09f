"""VGG-11/13/16/19 with BatchNorm, CIFAR variant, as Flax Linen modules.

The CIFAR variant keeps VGG's conv stacks but replaces the three 4096-wide fully connected layers
with one linear layer on 512 features: after five 2x2 max-pools a 32px image is 1x1, so the big
classifier would only add parameters. Global average pooling before that layer makes taller inputs
(64x32 MNIST-CIFAR gives a 2x1 map) work unchanged. Convs keep their biases, as in the reference
CIFAR VGGs, so ``vgg16(num_classes=10)`` has the familiar 14,728,266 parameters.
"""

from typing import Sequence, Union

import flax.linen as nn
import jax.numpy as jnp

from simplicity_bias.models import register

# "M" marks a 2x2 max-pool; integers are the widths of successive 3x3 conv-BN-ReLU layers.
VGG_CONFIGS = {
    "vgg11": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg13": (64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg16": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M"),
    "vgg19": (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"),
}

# He-normal fan-out init: keeps activation variance stable through ReLU conv stacks.
CONV_INIT = nn.initializers.variance_scaling(2.0, "fan_out", "normal")


class VGG(nn.Module):
  """Conv-BN-ReLU stacks separated by max-pools, then global average pool and a linear head.

  Attributes:
    layers: widths of the 3x3 convs, with "M" where a 2x2 max-pool goes (see ``VGG_CONFIGS``).
    num_classes: width of the logits; 2 for the binary simplicity-bias datasets.
  """
  layers: Sequence[Union[int, str]]
  num_classes: int = 2

  @nn.compact
  def __call__(self, x, train: bool):
    for layer in self.layers:
      if layer == "M":
        x = nn.max_pool(x, (2, 2), strides=(2, 2))
      else:
        x = nn.Conv(layer, (3, 3), padding=((1, 1), (1, 1)), kernel_init=CONV_INIT)(x)
        x = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5)(x)
        x = nn.relu(x)
    x = jnp.mean(x, axis=(1, 2))
    return nn.Dense(self.num_classes, name="head")(x)


@register("vgg11")
def vgg11(num_classes: int = 2) -> VGG:
  return VGG(VGG_CONFIGS["vgg11"], num_classes=num_classes)


@register("vgg13")
def vgg13(num_classes: int = 2) -> VGG:
  return VGG(VGG_CONFIGS["vgg13"], num_classes=num_classes)


@register("vgg16")
def vgg16(num_classes: int = 2) -> VGG:
  return VGG(VGG_CONFIGS["vgg16"], num_classes=num_classes)


@register("vgg19")
def vgg19(num_classes: int = 2) -> VGG:
  return VGG(VGG_CONFIGS["vgg19"], num_classes=num_classes)
