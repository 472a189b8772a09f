"""Model registry: a name maps to a function building a Flax Linen module.

Every builder takes keyword arguments (``num_classes`` and model-specific fields) and returns an
``nn.Module`` used functionally through ``init`` / ``apply``. Modules register themselves with
``@register("name")``; :func:`get_model` resolves a name and lists the valid ones when it is unknown.
"""

from typing import Callable, Dict

_REGISTRY: Dict[str, Callable] = {}


def register(name: str):
  """Decorator that adds a model builder to the registry under ``name``."""

  def wrap(builder):
    if name in _REGISTRY:
      raise ValueError(f"model {name!r} is registered twice")
    _REGISTRY[name] = builder
    return builder

  return wrap


# Modules whose import registers their builders; add a module here when you add one.
_BUILTIN_MODULES = ("mlp", "vector", "resnet", "vgg", "densenet", "mobilenet", "googlenet")
# Of those, the ones whose models take images (N, H, W, C).
_IMAGE_MODULES = ("resnet", "vgg", "densenet", "mobilenet", "googlenet")


def _load_builtin_models():
  import importlib
  for module in _BUILTIN_MODULES:
    importlib.import_module(f"simplicity_bias.models.{module}")


def model_names():
  _load_builtin_models()
  return sorted(_REGISTRY)


def image_model_names():
  """Registered models that take images: the CIFAR zoo."""
  _load_builtin_models()
  image_modules = {f"simplicity_bias.models.{m}" for m in _IMAGE_MODULES}
  return sorted(n for n, b in _REGISTRY.items() if b.__module__ in image_modules)


def get_model(name: str, **kwargs):
  """Builds the registered model ``name``; an unknown name raises a ValueError listing the valid ones."""
  _load_builtin_models()
  if name not in _REGISTRY:
    raise ValueError(f"unknown model {name!r}; valid models: {', '.join(sorted(_REGISTRY))}")
  return _REGISTRY[name](**kwargs)
