"""Named data transforms: how a cell changes the arrays its data source built before its members
train on them (a :class:`~simplicity_bias.pipeline.Cell` names one in ``transform``).

A transform is ``fn(bundle, layout, **options) -> bundle`` on the cell's
:class:`~simplicity_bias.data.registry.DataBundle` and :class:`~simplicity_bias.members.Layout`;
:func:`register` adds one, :func:`apply` runs one by name. A transform whose options name
earlier cells of the plan (``"from": [labels]``) gets their outcomes as ``earlier`` (a dict by
label), e.g. the trained models whose attributions mask the data (``mask_by_ranks``).
"""

from typing import Sequence

import jax
import jax.numpy as jnp

from simplicity_bias.attribution import diffroar as roar
from simplicity_bias.data.randomize import coord_mask, strip_block
from simplicity_bias.members import Attribution, Purpose, Strip, subkey
from simplicity_bias.registries import Registry, reads
from simplicity_bias.validation import ConfigError

_TRANSFORMS = Registry("data transform")
register = _TRANSFORMS.register   # decorator: adds a data transform under ``name``


def names():
  return sorted(_TRANSFORMS)


def apply(spec, bundle, layout, earlier=None):
  """Runs the transform ``spec = (name, options)``; ``earlier``: outcomes by cell label."""
  name, options = spec
  if name not in _TRANSFORMS:
    raise ConfigError(f"data transform {name!r} is unknown; valid: {', '.join(names())}.")
  options = dict(options)
  if "from" in options:
    labels = reads(spec)
    options.pop("from")
    missing = [l for l in labels if l not in (earlier or {})]
    if missing:
      raise ConfigError(f"data transform {name!r} reads cells {missing}, which have not run "
                        "before it.")
    options["earlier"] = {l: earlier[l] for l in labels}
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


@register("mask_by_ranks")
def mask_by_ranks(bundle, layout, *, earlier, attributions: Sequence, k_grid: Sequence[float],
                  fill: str, method: str, chunk: int):
  """DiffROAR's retraining data: for every attribution (point-major: attribution, then k and
  side of :func:`~simplicity_bias.attribution.diffroar.grid`; seeds inside) a member-stacked copy
  of the training and test images keeping the top-k or bottom-k pixels of that seed's attribution
  of each image, the rest filled (``fill``: 'black' or 'mean'); no validation set.

  ``attributions``: ``[cell label, point index]`` (the trained members of that training point of
  an earlier cell, seed by seed, attributed with ``method`` from the seed's ATTRIBUTION key) or
  ``["random"]`` (uniform scores from its ``Attribution.RANDOM_RANKS`` subkey)."""
  fractions, sides = roar.grid(k_grid)
  if layout.num_points != len(attributions) * len(fractions):
    raise ValueError(f"mask_by_ranks: {layout.num_points} training points for "
                     f"{len(attributions)} attributions x {len(fractions)} masks.")
  keys = layout.seed_keys(Purpose.ATTRIBUTION)
  num_train = len(bundle.y_train)
  x_all = jnp.concatenate([jnp.asarray(bundle.x_train), jnp.asarray(bundle.x_test)])
  y_all = jnp.concatenate([jnp.asarray(bundle.y_train), jnp.asarray(bundle.y_test)])
  fill_value = roar.fill_value(bundle.x_train, fill)
  train, test = [], []
  for source in attributions:
    if source[0] == "random":
      ranks = roar.random_ranks(x_all, subkey(keys, Attribution.RANDOM_RANKS))
    else:
      outcome = earlier[source[0]]
      sl = outcome.layout.point_slice(int(source[1]))
      variables = jax.tree_util.tree_map(lambda a: a[sl], outcome.variables)
      ranks = roar.attribution_ranks(outcome.trainer.predict, variables, x_all, y_all, keys,
                                     method, chunk)
    train.append(roar.masked_stack(jnp.asarray(bundle.x_train), ranks[:, :num_train],
                                   fractions, sides, fill_value))
    test.append(roar.masked_stack(jnp.asarray(bundle.x_test), ranks[:, num_train:], fractions,
                                  sides, fill_value))
    del ranks
  x_train, x_test = jnp.concatenate(train), jnp.concatenate(test)
  del train, test
  members = layout.num_members
  tile = lambda a: jnp.broadcast_to(jnp.asarray(a), (members,) + jnp.shape(a))
  return bundle._replace(x_train=x_train, y_train=tile(bundle.y_train), x_val=x_test[:, :0],
                         y_val=tile(bundle.y_test)[:, :0], x_test=x_test,
                         y_test=tile(bundle.y_test), shared=False,
                         extras=None)  # masked: the digit extras do not apply
