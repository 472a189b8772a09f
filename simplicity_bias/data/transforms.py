"""Named data transforms: how a cell changes the arrays its data source built before its members
train on them (a :class:`~simplicity_bias.pipeline.Cell` names one in ``transform``).

A transform is ``fn(bundle, layout, **options) -> bundle`` on the cell's
:class:`~simplicity_bias.data.registry.DataBundle` and :class:`~simplicity_bias.members.Layout`;
:func:`register` adds one, :func:`apply` runs one by name.
"""

from typing import Callable, Dict

import jax
import jax.numpy as jnp

from simplicity_bias.data.randomize import coord_mask, strip_block
from simplicity_bias.members import Purpose, Strip, subkey
from simplicity_bias.validation import ConfigError

_TRANSFORMS: Dict[str, Callable] = {}


def register(name: str):
  def wrap(fn):
    if name in _TRANSFORMS:
      raise ValueError(f"data transform {name!r} is registered twice")
    _TRANSFORMS[name] = fn
    return fn

  return wrap


def names():
  return sorted(_TRANSFORMS)


def apply(name: str, bundle, layout, **options):
  if name not in _TRANSFORMS:
    raise ConfigError(f"data transform {name!r} is unknown; valid: {', '.join(names())}.")
  return _TRANSFORMS[name](bundle, layout, **options)


@register("split_among_members")
def split_among_members(bundle, layout, num_train: int):
  """Gives slot ``j`` of every seed rows ``[j n, (j + 1) n)`` of its seed's training sample of
  ``slots x n`` points (``[seeds, slots n, ...]`` -> ``[seeds x slots, n, ...]``), so each member
  of a group trains on its own sample; the validation set stays the seed's (one copy per
  member), the test set the group's."""
  slots = layout.slots
  seeds, total = bundle.x_train.shape[:2]
  if total != slots * num_train:
    raise ValueError(f"splitting among members needs {slots} x {num_train} training points per "
                     f"seed, got {total}.")
  split = lambda a: a.reshape((seeds * slots, num_train) + a.shape[2:])
  copy = lambda a: jnp.repeat(a, slots, axis=0)
  return bundle._replace(x_train=split(bundle.x_train), y_train=split(bundle.y_train),
                         x_val=copy(bundle.x_val), y_val=copy(bundle.y_val))


STRIP_MODES = ("permute", "zero")


@register("strip_simple")
def strip_simple(bundle, layout, mode: str = "permute"):
  """Removes the label information of the simple block S from the training and validation sets
  (:func:`~simplicity_bias.data.randomize.strip_block`: S permuted across rows, or set to 0); the
  test set stays ordinary. The permutations come from each member's STRIP key (the validation
  set's from its ``Strip.VALIDATION`` subkey)."""
  if mode not in STRIP_MODES:
    raise ConfigError(f"strip_simple: mode={mode!r} must be one of {', '.join(STRIP_MODES)}.")
  keys = layout.keys(Purpose.STRIP)
  mask = jnp.asarray(coord_mask(bundle.info.dim, bundle.info.simple))
  strip = jax.jit(jax.vmap(lambda x, r, k: strip_block(x, r, mask, k, mode)))
  return bundle._replace(x_train=strip(bundle.x_train, bundle.rotation, keys),
                         x_val=strip(bundle.x_val, bundle.rotation,
                                     subkey(keys, Strip.VALIDATION)))
