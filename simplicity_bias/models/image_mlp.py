"""A fully-connected network for images: flatten, ``depth`` hidden ReLU layers, logits.

The attribution experiments (BlockMNIST, DiffROAR on MNIST / Fashion-MNIST) compare MLPs with
ResNets on the same images; registering the MLP as an image model lets one config sweep both
with the same data, trainer and evaluators. ``depth=0`` is a linear (logistic-regression) model,
whose input gradient is the same weight map for every image of a class.
"""

from simplicity_bias.models import register
from simplicity_bias.models.mlp import FCN, INITS
from simplicity_bias.validation import ConfigError, check_choice


@register("mlp")
def mlp(num_classes: int = 2, width: int = 256, depth: int = 2, init: str = "pytorch"):
  check_choice("model.init", init, INITS)
  if isinstance(width, bool) or not isinstance(width, int) or width < 1 or depth < 0:
    raise ConfigError(f"model.width={width!r} must be an integer >= 1 and model.depth={depth!r} "
                      ">= 0 (0: a linear model).")
  return FCN(width=width, depth=depth, num_classes=num_classes, init_kind=init)
