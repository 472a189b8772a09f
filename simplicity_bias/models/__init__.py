"""Model registry: a name maps to a function building a Flax Linen module.

Every builder takes keyword arguments (``num_classes`` and model-specific fields) and returns an
``nn.Module`` used functionally through ``init`` / ``apply``. Modules register themselves with
``@register("name")``; :func:`get_model` resolves a name and lists the valid ones when it is unknown.
"""

from typing import Dict

from simplicity_bias.registries import Registry

_REGISTRY = Registry("model")
register = _REGISTRY.register   # decorator: adds a model builder under ``name``


# Modules whose import registers their builders; add a module here when you add one.
_BUILTIN_MODULES = ("mlp", "vector", "theory", "resnet", "vgg", "densenet", "mobilenet",
                    "googlenet", "image_mlp")
# Of those, the ones whose models take images (N, H, W, C).
_IMAGE_MODULES = ("resnet", "vgg", "densenet", "mobilenet", "googlenet", "image_mlp")


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


def vector_model_names():
  """Registered models that take vectors (synthetic data)."""
  image = set(image_model_names())
  return [n for n in model_names() if n not in image]


def _signature(name: str):
  import inspect
  return {p.name: p.default for p in inspect.signature(_REGISTRY[name]).parameters.values()
          if p.name != "num_classes"}


def field_defaults(names) -> Dict[str, list]:
  """field -> the defaults the builders of ``names`` give it (several when they disagree)."""
  out: Dict[str, list] = {}
  for name in names:
    for field, default in _signature(name).items():
      if default not in out.setdefault(field, []):
        out[field].append(default)
  return out


def build(model_config, kind: str, num_classes: int = 2):
  """The model ``model_config.name`` for ``kind`` ('vector' or 'image') data.

  A config's model section may hold fields of several models (e.g. every vector model's, so any
  of them can be chosen from the command line); the builder gets the fields it takes. A field it
  does not take must be at a default (otherwise the user set something this model would ignore).
  Raises ConfigError naming the field and a fix that can be typed on the command line.
  """
  from simplicity_bias.validation import ConfigError
  name = model_config.name
  fitting = vector_model_names() if kind == "vector" else image_model_names()
  if name not in fitting:
    if name in model_names():
      other = "images" if kind == "vector" else "vectors"
      raise ConfigError(f"model.name={name!r} takes {other}, but this config's data are "
                        f"{kind}s; use one of {', '.join(fitting)}.")
    raise ConfigError(f"unknown model model.name={name!r}; valid models for {kind} data: "
                      f"{', '.join(fitting)}.")
  taken = _signature(name)
  defaults = field_defaults(fitting)
  fields = {}
  for field, value in model_config.items():
    if field == "name" or value is None:  # None: the model's own default
      continue
    if field in taken:
      fields[field] = value
    elif value not in defaults.get(field, [value]):
      users = [n for n in fitting if field in _signature(n)]
      raise ConfigError(
          f"model.{field}={value!r} does not apply to model.name={name!r} (it takes "
          f"{', '.join(sorted(taken)) or 'no fields'}); set --config.model.{field}="
          f"{defaults[field][0]!r} (its default) or choose a model that takes it "
          f"({', '.join(users)}).")
  return _REGISTRY[name](num_classes=num_classes, **fields)
