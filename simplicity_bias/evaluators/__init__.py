"""Evaluators by name: what is measured on a trained model, chosen by ``config.evals``.

An evaluator is a pure function ``fn(inputs: Inputs) -> {name: array}`` of ONE model: its
``logits_fn`` (parameters closed over), a test set, the data's static :class:`DataInfo` and a
PRNG key. :func:`evaluate` vmaps the selected evaluators over the models of a run (members, or
ensembles of them) in one compiled call. Scalar outputs become per-seed metrics in the results
rows; array outputs (scores for histograms, coordinate-wise accuracies, decision grids) go to
figures.

Register a new one with ``@register("name")`` in a module listed in ``_MODULES``; one that
selects models reads the validation split instead (``register(..., split="val")``). A *group*
evaluator (``register(..., group=True)``) measures the members of a group together: its
``logits_fn`` returns ``[K, n, C]``. In ``config.evals`` an entry ``name@readout`` runs evaluator
``name`` on one model made of each group by a read-out (:mod:`~simplicity_bias.evaluators.readouts`).
"""

import functools
import importlib
from typing import Any, Callable, Dict, NamedTuple, Optional, Sequence

import jax

from simplicity_bias.validation import ConfigError


class Inputs(NamedTuple):
  logits_fn: Callable          # x -> logits of the model being evaluated
  x: Any                       # test inputs of that model
  y: Any
  rotation: Optional[Any]      # [d, d] for vector data (x = z @ rotation), else None
  key: Any                     # the model's EVAL key
  info: Any                    # data.registry.DataInfo (static)
  options: Dict[str, Any]      # config.eval as a dict (static)
  aux: Any = None              # evaluator-specific per-model inputs (e.g. training inputs)
  # (kernel, bias, head) when the model's first layer is affine in its flattened input:
  # logits_fn(x) == head(x.reshape(n, -1) @ kernel + bias); else None (see evaluate).
  first_layer: Any = None
  extras: Any = None           # the data's extras for evaluators (DataBundle.extras), or None


class Evaluator(NamedTuple):
  fn: Callable
  kinds: tuple                 # data kinds it applies to ('vector', 'image')
  needs: tuple = ()            # blocks the data must have ('simple', 'complex')
  group: bool = False          # measures a group's members together ([K, n, C] logits)
  split: str = "test"          # the split it reads: 'test', or 'val' (model selection)


_REGISTRY: Dict[str, Evaluator] = {}
_MODULES = ("simplicity_bias.evaluators.sb", "simplicity_bias.evaluators.attribution",
            "simplicity_bias.evaluators.robustness", "simplicity_bias.evaluators.group",
            "simplicity_bias.evaluators.selection")


def register(name: str, kinds=("vector", "image"), needs=(), group: bool = False,
             split: str = "test"):
  def wrap(fn):
    if name in _REGISTRY:
      raise ValueError(f"evaluator {name!r} is registered twice")
    if split not in ("test", "val"):
      raise ValueError(f"evaluator {name!r}: split={split!r} must be 'test' or 'val'")
    _REGISTRY[name] = Evaluator(fn, tuple(kinds), tuple(needs), group, split)
    return fn
  return wrap


def _load():
  for m in _MODULES:
    importlib.import_module(m)


def names():
  _load()
  return sorted(_REGISTRY)


def split_entry(entry: str):
  """``"sb@mean_logits"`` -> ``("sb", "mean_logits")``; ``"sb"`` -> ``("sb", "")``."""
  name, _, readout = entry.partition("@")
  return name, readout


def split_of(name: str) -> str:
  """The split evaluator ``name`` reads ('test', or 'val' for model-selection evaluators)."""
  _load()
  return _REGISTRY[name].split


def is_group(name: str) -> bool:
  _load()
  return name in _REGISTRY and _REGISTRY[name].group


def check_entries(entries: Sequence[str], info, group_size: int) -> None:
  """ConfigError unless every ``config.evals`` entry (``name`` or ``name@readout``) is valid for
  the data and for groups of ``group_size`` members."""
  from simplicity_bias.evaluators import readouts
  check([split_entry(e)[0] for e in entries], info)
  for entry in entries:
    name, readout = split_entry(entry)
    if is_group(name) or readout:
      if group_size < 2:
        raise ConfigError(f"evals entry {entry!r} measures groups of members; set "
                          "members.group_size >= 2.")
      if is_group(name) and readout:
        raise ConfigError(f"evals entry {entry!r}: {name!r} already sees every member of the "
                          "group; drop the read-out.")
      if readout:
        readouts.parse(readout, group_size)


def check(names_: Sequence[str], info) -> None:
  """ConfigError unless every name is registered and applies to the data described by ``info``."""
  _load()
  for name in names_:
    if name not in _REGISTRY:
      raise ConfigError(f"evals has unknown evaluator {name!r}; valid: "
                        f"{', '.join(sorted(_REGISTRY))}.")
    ev = _REGISTRY[name]
    if info.kind not in ev.kinds:
      fits = [n for n, e in sorted(_REGISTRY.items()) if info.kind in e.kinds]
      raise ConfigError(f"evaluator {name!r} does not apply to {info.kind} data "
                        f"({info.name}); use one of {', '.join(fits)}.")


def evaluate(names_: Sequence[str], logits_fn, params, x, y, rotation, keys, info, options,
             shared_data: bool, aux=None, first_layer=None, extras=None):
  """Runs the evaluators on every model: ``logits_fn(params_m, x) -> logits``; ``params``,
  ``keys`` and ``aux`` (per-model inputs) have a leading model axis, and so do ``x, y, rotation``
  unless ``shared_data``.
  ``first_layer(params_m)`` (optional, e.g. ``Trainer.first_layer``) returns ``None`` or
  ``(kernel, bias, head)`` with ``logits_fn(params_m, x) == head(x @ kernel + bias)``; evaluators
  that run the model on many rank-one changes of ``x`` then share the first layer's matmul.
  ``extras``: the data's extras (a leading model axis unless ``shared_data``, as ``x``).
  Returns host arrays ``{name: [models, ...]}``."""
  check(names_, info)
  out = _compiled(tuple(names_), logits_fn, info, _freeze(options), shared_data,
                  rotation is None, first_layer)(params, x, y, rotation, keys, aux, extras)
  return jax.device_get(out)


def _freeze(value):
  """A hashable copy of ``config.eval`` (dicts and lists become sorted tuples)."""
  if isinstance(value, dict):
    return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
  if isinstance(value, (list, tuple)):
    return tuple(_freeze(v) for v in value)
  return value


@functools.lru_cache(maxsize=32)
def _compiled(names_, logits_fn, info, frozen_options, shared_data, no_rotation, first_layer):
  """One jitted, model-vmapped program per (evaluators, model function, data, options): a
  second evaluation of the same run (or of another run with the same shapes) does not trace
  again."""
  fns = [_REGISTRY[n].fn for n in names_]
  options = _thaw(frozen_options)

  def one(p, xx, yy, rot, key, a, ex):
    inputs = Inputs(lambda z: logits_fn(p, z), xx, yy, rot, key, info, options, a,
                    None if first_layer is None else first_layer(p), ex)
    out = {}
    for fn in fns:
      out.update(fn(inputs))
    return out

  axis = None if shared_data else 0
  rot_axis = None if no_rotation else axis
  return jax.jit(jax.vmap(one, in_axes=(0, axis, axis, rot_axis, 0, 0, axis)))


def _thaw(frozen):
  return {k: v for k, v in frozen}
