"""Data sources by name: a config section in, member-ready arrays plus their S / S^c layout out.

``config.data.source`` names the source (``synthetic`` by default; ``mnist_cifar``,
``cifar_only``, ``block_mnist``, ``simplified_block_mnist``, ``image_classification``). A source
has two functions:

* ``info(config) -> DataInfo`` — static facts, no data loaded: which input coordinates (latent
  coordinates of a vector, or image rows) form the simple block S and the complex block S^c, the
  dataset's name and description. Raises ConfigError for bad fields, before anything compiles.
* ``build(config, layout) -> DataBundle`` — the arrays. Synthetic data is drawn per dataset (one
  per grid point x seed, shared by a seed's slots) in one vmapped program; image data is one
  dataset shared by every member.

Evaluators and the randomized test sets only read :class:`DataInfo`, so they work for every
source alike.
"""

import dataclasses
import importlib
from typing import Any, Callable, Dict, NamedTuple, Tuple

import jax
import numpy as np

from simplicity_bias.validation import ConfigError


@dataclasses.dataclass(frozen=True)
class DataInfo:
  """Static description of a source's data (hashable: safe to close over in jitted code)."""
  name: str
  kind: str                      # 'vector' (latent coordinates, maybe rotated) or 'image'
  simple: Tuple[int, ...] = ()   # vector: latent coordinates of S; image: (row_start, row_stop)
  complex: Tuple[int, ...] = ()  # the same for S^c
  dim: int = 0                   # vector dimension (0 for images)
  width: float = 1.0             # latent coordinates lie in [-width, width] (decision grids)
  num_train: int = 0             # known before loading (synthetic), else 0
  source_note: str = ""          # where the data came from (e.g. "not MNIST" for stand-ins)
  num_classes: int = 2           # width of the models' logits

  def has(self, block: str) -> bool:
    return bool(self.simple if block == "simple" else self.complex)


class DataBundle(NamedTuple):
  """Arrays of every member. ``x_*``: ``[datasets, n, ...]``, or ``[n, ...]`` when ``shared``;
  ``rotation``: ``[datasets, d, d]`` for vector data (identity when not rotated), else None."""
  x_train: Any
  y_train: Any
  x_val: Any
  y_val: Any
  x_test: Any
  y_test: Any
  rotation: Any
  info: DataInfo
  shared: bool
  describe: Dict                 # JSON summary for results.json
  sample_params: Any = None      # per-dataset arguments of the source's fresh-batch sampler
  # Unlabelled pool (``data.pool``): inputs only, ``[datasets, m, ...]`` or ``[m, ...]`` when
  # shared; disjoint from the train, validation and test splits. None without a pool.
  pool: Any = None
  # What evaluators read besides the test set (``Inputs.extras``), per dataset like the test set,
  # e.g. BlockMNIST's digit positions and training-set class-mean digits. None without any.
  extras: Any = None

  def arrays(self):
    return (self.x_train, self.y_train, self.x_val, self.y_val, self.x_test, self.y_test)


class Source(NamedTuple):
  info: Callable
  build: Callable
  # Optional: ``build_points(config, layout, points) -> DataBundle`` with one dataset per
  # (training point, seed) when points set the data parameters named in ``point_params`` (e.g. a
  # noise level per point); sources without it share a seed's data across points.
  build_points: Callable = None
  point_params: Tuple[str, ...] = ()


# name -> module that defines SOURCE (imported on first use: image sources pull in their loaders).
_MODULES = {
    "synthetic": "simplicity_bias.data.synthetic_source",
    "mnist_cifar": "simplicity_bias.data.image_source",
    "cifar_only": "simplicity_bias.data.image_source",
    "block_mnist": "simplicity_bias.data.attribution_source",
    "simplified_block_mnist": "simplicity_bias.data.attribution_source",
    "image_classification": "simplicity_bias.data.attribution_source",
}


def source_name(config) -> str:
  return config.data.source


def get(name: str) -> Source:
  if name not in _MODULES:
    raise ConfigError(f"data.source={name!r} is unknown; valid sources: "
                      f"{', '.join(sorted(_MODULES))}.")
  return importlib.import_module(_MODULES[name]).SOURCES[name]


def info(config) -> DataInfo:
  return get(source_name(config)).info(config)


def build(config, layout) -> DataBundle:
  return get(source_name(config)).build(config, layout)


def point_params(config) -> Tuple[str, ...]:
  """The data parameters the source draws per training point (see :class:`Source`)."""
  return get(source_name(config)).point_params


def build_points(config, layout, points) -> DataBundle:
  """One dataset per (training point, seed) from each point's data parameters."""
  return get(source_name(config)).build_points(config, layout, points)


def take_datasets(bundle: DataBundle, index) -> DataBundle:
  """The bundle restricted to datasets ``index`` (a slice or index array) of a stacked bundle."""
  if bundle.shared:
    return bundle
  pick = lambda a: None if a is None else a[index]
  return bundle._replace(**{f: pick(getattr(bundle, f)) for f in
                            ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test",
                             "rotation", "pool")},
                         sample_params=(None if bundle.sample_params is None else
                                        jax.tree_util.tree_map(lambda a: a[index],
                                                               bundle.sample_params)))


def to_numpy(tree):
  return jax.tree_util.tree_map(np.asarray, jax.device_get(tree))
