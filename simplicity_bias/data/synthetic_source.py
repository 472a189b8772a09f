"""The ``synthetic`` data source: slab datasets from ``config.data`` (+ ``config.grid``).

Every dataset parameter is a traced float (``synthetic.SyntheticParams``), so a grid over them
(``config.grid.<alias> = (v1, v2, ...)``, cartesian product in key order) is drawn, trained and
evaluated in the same compiled program as the seeds: one dataset per (grid point, seed), shared
by that seed's slots.

``data.pool`` adds an unlabelled pool of ``data.pool_size`` points per dataset, drawn apart from
the splits (its own POOL key) and rotated as the dataset: ``'in_distribution'`` (the training
distribution) or ``'decorrelated'`` (the simple block S permuted across the pool, so S carries
no information about S^c or the label).
"""

import dataclasses
import functools
import itertools
from typing import Dict, List, Tuple

import jax

from simplicity_bias.data import synthetic
from simplicity_bias.data.randomize import coord_mask, permutation, randomize_block
from simplicity_bias.data.registry import DataBundle, DataInfo, Source
from simplicity_bias.members import Layout, Pool, Purpose, subkey
from simplicity_bias.validation import ConfigError, check_choice


def grid_points(config) -> List[Dict[str, float]]:
  """The cartesian product of the non-empty ``config.grid`` fields as a list of {alias: value}
  (one empty dict if none)."""
  grid = config.grid.to_dict() if config.get("grid") else {}
  # Every alias has a field (empty = not swept), so axes come in the order of PARAM_ALIASES.
  grid = {k: v for k, v in grid.items() if not (isinstance(v, (tuple, list)) and len(v) == 0)}
  for alias, values in grid.items():
    if alias not in synthetic.PARAM_ALIASES:
      raise ConfigError(f"grid.{alias} is not a dataset parameter; valid: "
                        f"{', '.join(synthetic.PARAM_ALIASES)}.")
    if isinstance(values, (int, float)) and not isinstance(values, bool):
      values = grid[alias] = (values,)
    if not isinstance(values, (list, tuple)) or not values:
      raise ConfigError(f"grid.{alias} must be a non-empty list of numbers (got {values!r}).")
  names = list(grid)
  return [dict(zip(names, combo)) for combo in itertools.product(*(grid[n] for n in names))]


def point_label(point: Dict[str, float]) -> str:
  return ",".join(f"{k}={v:g}" for k, v in point.items()) or "all"


def spec_and_params(config) -> Tuple[synthetic.SyntheticSpec, List[Dict], List]:
  """The validated static spec, the grid points and each point's dataset parameters."""
  spec = synthetic.spec_from_config(config.data)
  base = synthetic.params_from_config(spec, config.data)
  given = [a for a in synthetic.PARAM_ALIASES if a != "width" and config.data[a] is not None]
  synthetic.check_params(spec, base, where="data", given=given)
  points = grid_points(config)
  params = []
  for point in points:
    p = base
    for alias, value in point.items():
      p = synthetic.set_param(spec, p, alias, value)
    synthetic.check_params(spec, p, where="grid" if point else "data", given=given + list(point))
    params.append(p)
  return spec, points, params


def info(config) -> DataInfo:
  spec = synthetic.spec_from_config(config.data)
  return DataInfo(name=spec.name, kind="vector", simple=spec.simple_coords,
                  complex=spec.complex_coords, dim=spec.dim,
                  width=float(config.data.width), num_train=spec.num_train)


@functools.lru_cache(maxsize=32)
def _draw(spec: synthetic.SyntheticSpec):
  return jax.jit(jax.vmap(lambda k, p: synthetic.make_dataset(spec, k, p)))


POOLS = ("decorrelated", "in_distribution")


def pool_settings(config) -> Tuple[str, int]:
  """The validated ``(data.pool, data.pool_size)`` ('' when the config asks for no pool)."""
  kind = str(config.data.pool or "")
  size = int(config.data.pool_size or 0)
  if not kind:
    if size:
      raise ConfigError(f"data.pool_size={size} is given without data.pool; choose one of "
                        f"{', '.join(POOLS)}.")
    return "", 0
  check_choice("data.pool", kind, POOLS)
  if size < 1:
    raise ConfigError(f"data.pool={kind!r} needs data.pool_size >= 1 (unlabelled points per "
                      "dataset).")
  if kind == "decorrelated" and not info(config).has("simple"):
    raise ConfigError(f"data.pool='decorrelated' permutes the simple block S, which dataset "
                      f"{config.data.name!r} does not have; use 'in_distribution'.")
  return kind, size


@functools.lru_cache(maxsize=32)
def _draw_pool(spec: synthetic.SyntheticSpec, kind: str):
  """``(key, params, rotation) -> [m, dim]``: unlabelled points of the dataset's distribution,
  rotated as its training set; 'decorrelated' permutes S across them (S independent of S^c)."""
  mask = coord_mask(spec.dim, spec.simple_coords)

  def draw(key, params, rotation):
    z, _ = synthetic.sample_latent(spec, subkey(key, Pool.DRAW), params)
    x = z @ rotation
    if kind == "decorrelated":
      x = randomize_block(x, rotation, mask, permutation(subkey(key, Pool.DECORRELATE),
                                                         spec.num_train))
    return x

  return jax.jit(jax.vmap(draw))


def build(config, layout: Layout) -> DataBundle:
  spec, points, params = spec_and_params(config)
  if layout.num_points != len(points):
    raise ValueError(f"layout has {layout.num_points} grid points, the config {len(points)}")
  dataset_params = synthetic.stack_params([p for p in params for _ in layout.seeds])
  dataset_layout = Layout(layout.seeds, layout.num_points)
  data = _draw(spec)(dataset_layout.keys(Purpose.DATA), dataset_params)
  kind, size = pool_settings(config)
  pool = None
  if kind:
    pool_spec = dataclasses.replace(spec, num_train=size, num_val=0, num_test=0)
    pool = _draw_pool(pool_spec, kind)(dataset_layout.keys(Purpose.POOL), dataset_params,
                                       data.rotation)
  return DataBundle(*data, info=info(config), shared=False, describe=synthetic.describe(spec),
                    sample_params=(dataset_params, data.rotation), pool=pool)


def sampler(config, batch_size: int):
  """``(key, (dataset_params, rotation)) -> (x, y)``: a fresh batch of the config's dataset."""
  spec = synthetic.spec_from_config(config.data)
  batch_spec = dataclasses.replace(spec, num_train=batch_size, num_val=0, num_test=0)

  def sample(key, args):
    params, rotation = args
    z, y = synthetic.sample_latent(batch_spec, key, params)
    return z @ rotation, y

  return sample


SOURCES = {"synthetic": Source(info, build)}
