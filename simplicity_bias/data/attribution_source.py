"""Data sources of the attribution experiments ("Do Input Gradients Highlight Discriminative
Features?"): BlockMNIST, simplified BlockMNIST and plain image classification.

* ``block_mnist`` — 56x28x1 images, a digit block and a null block (``data/block_mnist.py``),
  one dataset shared by every member. Fields: ``data.digit_source`` ('mnist', or
  'sklearn_digits' offline), ``data.classes`` ('0,1' or 'all'), ``data.placement``
  ('random' | 'top' | 'bottom'), ``data.null`` ('patch' | 'zero'), ``data.num_train`` /
  ``data.num_test`` (caps, 0 = all), ``data.data_dir``.
* ``simplified_block_mnist`` — the theory's vectors: ``data.num_blocks`` blocks of
  ``data.block_size`` coordinates, the signal ``y·mu`` in one of the first half, Gaussian noise
  of standard deviation ``sigma`` in the second half. A pure function of each member's DATA key;
  ``sigma`` and ``mu`` are traced, so a tuple of sigmas (``data.sigmas``) is a member axis (grid
  points) of one program, drawn with the same keys at every sigma (common random numbers).
* ``image_classification`` — a whole labelled dataset (``data.dataset``: mnist, fashion_mnist,
  cifar10, svhn_cropped, or sklearn_digits offline; ``data.data_dir='mock'``: generated
  look-alikes, see ``data/mock.py``) as float images in [0, 1], for DiffROAR.

Images are never normalised: attack radii (ε) and masks act in pixel space [0, 1].
"""

import dataclasses
import functools
from typing import Dict, Tuple

import jax
import numpy as np

from simplicity_bias.data import block_mnist, digits, simplified_block_mnist, store
from simplicity_bias.data.registry import DataBundle, DataInfo, Source
from simplicity_bias.members import Layout, Purpose
from simplicity_bias.validation import ConfigError, check_choice

CLASSIFICATION_DATASETS = ("mnist", "fashion_mnist", "cifar10", "svhn_cropped",
                           "sklearn_digits")
DIGIT_SOURCES = ("mnist", "sklearn_digits")
# The imported Fashion-MNIST of this project comes with a fixed train / test split that is not
# the official one; every Fashion-MNIST result says so.
FASHION_MNIST_NOTE = ("Fashion-MNIST as imported here: a fixed train/test split that is not the "
                      "official one")


def _check_sizes(d):
  for field in ("num_train", "num_test"):
    value = d.get(field, 0)
    if value is None or isinstance(value, bool) or value < 0:
      raise ConfigError(f"data.{field}={value!r} must be >= 0 (0 = every image).")


# ----------------------------------------------------------------------------- BlockMNIST

def parse_classes(classes) -> Tuple[int, ...]:
  """'0,1' / (0, 1) / 'all' -> the digit classes (ConfigError when unusable)."""
  if isinstance(classes, str):
    if classes.strip() == "all":
      return tuple(range(block_mnist.NUM_MNIST_CLASSES))
    try:
      classes = [int(c) for c in classes.split(",") if c.strip()]
    except ValueError:
      raise ConfigError(f"data.classes={classes!r} must be digits such as '0,1', or 'all'.") \
          from None
  out = tuple(int(c) for c in classes)
  if len(out) < 2 or len(set(out)) != len(out) or not all(0 <= c <= 9 for c in out):
    raise ConfigError(f"data.classes={classes!r} must name at least two distinct digits 0-9 "
                      "(e.g. '0,1'), or 'all'.")
  return out


def block_info(config) -> DataInfo:
  d = config.data
  check_choice("data.digit_source", d.digit_source, DIGIT_SOURCES)
  check_choice("data.placement", d.placement, block_mnist.PLACEMENTS)
  check_choice("data.null", d.null, block_mnist.NULL_KINDS)
  _check_sizes(d)
  classes = parse_classes(d.classes)
  name = "block_mnist" if d.placement == "random" else f"block_mnist_{d.placement}"
  return DataInfo(name=name, kind="image", num_classes=len(classes))


def load_block_mnist(config) -> block_mnist.BlockMnistDataset:
  """The configured BlockMNIST as numpy arrays, drawn from ``config.seed`` (missing data ->
  ConfigError naming the commands that prepare it)."""
  from simplicity_bias.data import sources
  d = config.data
  block_info(config)
  try:
    return _load_block_mnist(d.digit_source, d.data_dir or None, parse_classes(d.classes),
                             d.placement, d.null, int(config.seed), d.num_train or None,
                             d.num_test or None)
  except sources.DatasetNotFoundError as e:
    raise ConfigError(str(e)) from None


@functools.lru_cache(maxsize=4)
def _load_block_mnist(digit_source, data_dir, classes, placement, null, seed, num_train,
                      num_test):
  # Cached: an experiment reads the dataset once for its placements and once per cell.
  return block_mnist.load_block_mnist(
      digit_source=digit_source, data_dir=data_dir, classes=classes, placement=placement,
      null=null, seed=seed, num_train=num_train, num_test=num_test)


def block_bundle(config, ds: block_mnist.BlockMnistDataset) -> DataBundle:
  base = block_info(config)
  describe = {"name": base.name, "source": ds.source_note, "num_train": len(ds.y_train),
              "num_test": len(ds.y_test), "classes": list(ds.classes),
              "placement": ds.placement, "null": ds.null}
  info = dataclasses.replace(base, num_train=len(ds.y_train), source_note=ds.source_note)
  # The evaluators' extras: where each test digit is, and the training-set mean digit of every
  # class (the leakage reference).
  extras = {"digit_on_top": np.asarray(ds.digit_on_top_test),
            "reference": ds.class_mean_digits("train")}
  return DataBundle(ds.x_train, ds.y_train, ds.x_test[:0], ds.y_test[:0], ds.x_test, ds.y_test,
                    None, info=info, shared=True, describe=describe, extras=extras)


def block_build(config, layout) -> DataBundle:
  del layout  # one dataset for every member
  return block_bundle(config, load_block_mnist(config))


# ----------------------------------------------------------------------------- simplified

def sigma_values(config) -> Tuple[float, ...]:
  """The noise levels of the members' datasets: ``data.sigmas`` (one grid point each)."""
  sigmas = config.data.sigmas
  sigmas = (sigmas,) if isinstance(sigmas, (int, float)) else tuple(sigmas)
  if not sigmas or any(isinstance(s, bool) or not s >= 0 for s in sigmas):
    raise ConfigError(f"data.sigmas={config.data.sigmas!r} must be a non-empty tuple of noise "
                      "standard deviations >= 0.")
  if len(set(sigmas)) != len(sigmas):
    raise ConfigError(f"data.sigmas={sigmas} repeats a value; list each sigma once.")
  return tuple(float(s) for s in sigmas)


def simplified_info(config) -> DataInfo:
  d = config.data
  if not isinstance(d.num_blocks, int) or d.num_blocks < 2 or d.num_blocks % 2:
    raise ConfigError(f"data.num_blocks={d.num_blocks!r} must be an even integer >= 2 (signal "
                      "in the first half, noise in the second).")
  if not isinstance(d.block_size, int) or d.block_size < 1:
    raise ConfigError(f"data.block_size={d.block_size!r} must be an integer >= 1.")
  if not d.mu > 0:
    raise ConfigError(f"data.mu={d.mu!r} must be > 0 (the signal's size).")
  for field in ("num_train", "num_test"):
    if not isinstance(d[field], int) or d[field] < 1:
      raise ConfigError(f"data.{field}={d[field]!r} must be an integer >= 1.")
  sigma_values(config)
  return DataInfo(name="simplified_block_mnist", kind="vector",
                  dim=d.num_blocks * d.block_size, num_train=d.num_train)


@functools.lru_cache(maxsize=16)
def _draw(num_train: int, num_test: int, num_blocks: int, block_size: int):
  def draw(key, mu, sigma):
    k_train, k_test = jax.random.split(key)
    make = functools.partial(simplified_block_mnist.simplified_block_mnist, num_blocks=num_blocks,
                             block_size=block_size, mu=mu, sigma=sigma)
    x_train, y_train, _ = make(k_train, num_train)
    x_test, y_test, _ = make(k_test, num_test)
    return x_train, y_train, x_test, y_test

  return jax.jit(jax.vmap(draw, in_axes=(0, None, 0)))


def simplified_build(config, layout: Layout, point_sigmas=None) -> DataBundle:
  """One dataset per (grid point, seed); point g has noise ``point_sigmas[g]`` (default:
  ``data.sigmas``). A seed's datasets share their key at every point (common random numbers),
  so two sigmas differ only by the noise scale."""
  info = simplified_info(config)
  d = config.data
  sigmas = tuple(point_sigmas) if point_sigmas is not None else sigma_values(config)
  if layout.num_points != len(sigmas):
    raise ValueError(f"layout has {layout.num_points} grid points but {len(sigmas)} sigmas")
  keys = Layout(layout.seeds, layout.num_points).keys(Purpose.DATA)
  per_dataset = np.repeat(np.asarray(sigmas, np.float32), layout.num_seeds)
  x_train, y_train, x_test, y_test = _draw(d.num_train, d.num_test, d.num_blocks,
                                           d.block_size)(keys, float(d.mu), per_dataset)
  describe = {"name": info.name, "num_blocks": d.num_blocks, "block_size": d.block_size,
              "mu": float(d.mu), "sigmas": list(dict.fromkeys(sigmas)), "num_train": d.num_train,
              "num_test": d.num_test}
  return DataBundle(x_train, y_train, x_test[:, :0], y_test[:, :0], x_test, y_test, None,
                    info=info, shared=False, describe=describe)


# ----------------------------------------------------------------------------- whole datasets

def classification_info(config) -> DataInfo:
  d = config.data
  check_choice("data.dataset", d.dataset, CLASSIFICATION_DATASETS)
  _check_sizes(d)
  return DataInfo(name=d.dataset, kind="image", num_classes=10,
                  source_note=source_note(d.dataset, d.get("data_dir", "")))


def source_note(dataset: str, data_dir: str = "") -> str:
  """What ``dataset`` read from ``data_dir`` is, for results."""
  from simplicity_bias.data import mock
  if mock.is_mock(data_dir) and dataset in mock.IMAGE_SHAPES:
    return mock.note(dataset)
  if dataset == "sklearn_digits":
    return digits.SKLEARN_DIGITS_NOTE
  if dataset == "fashion_mnist":
    return FASHION_MNIST_NOTE
  return store.TFDS_DATASETS[dataset]


@functools.lru_cache(maxsize=4)
def _load_classification(dataset, data_dir, seed, num_train, num_test):
  from simplicity_bias.data import sources
  out = []
  rng = np.random.default_rng(seed)
  for split, cap in (("train", num_train), ("test", num_test)):
    s = sources.load_split(dataset, split, data_dir=data_dir)
    chosen = np.sort(rng.permutation(len(s.labels))[:cap]) if cap else np.arange(len(s.labels))
    out += [s.images[chosen].astype(np.float32) / 255.0, s.labels[chosen].astype(np.int32)]
  return tuple(out)


def load_classification(config) -> Tuple[np.ndarray, ...]:
  """(x_train, y_train, x_test, y_test), float32 images in [0, 1]; a seeded random subset when
  ``data.num_train`` / ``data.num_test`` cap the splits."""
  from simplicity_bias.data import sources
  d = config.data
  classification_info(config)
  try:
    return _load_classification(d.dataset, d.data_dir or None, int(config.seed),
                                d.num_train or 0, d.num_test or 0)
  except sources.DatasetNotFoundError as e:
    raise ConfigError(str(e)) from None


def classification_build(config, layout) -> DataBundle:
  del layout
  x_train, y_train, x_test, y_test = load_classification(config)
  base = classification_info(config)
  # The store's own record decides (a copy of generated data is flagged wherever it lies).
  generated = (store.generated_note(base.name, config.data.data_dir or None)
               if base.name in store.TFDS_DATASETS else "")
  info = dataclasses.replace(base, num_train=len(y_train),
                             source_note=generated or base.source_note)
  describe: Dict = {"name": base.name, "source": info.source_note, "num_train": len(y_train),
                    "num_test": len(y_test)}
  return DataBundle(x_train, y_train, x_test[:0], y_test[:0], x_test, y_test, None, info=info,
                    shared=True, describe=describe)


def simplified_build_points(config, layout: Layout, points) -> DataBundle:
  """One dataset per (point, seed), point g at noise ``points[g]["sigma"]``."""
  return simplified_build(config, layout, [p["sigma"] for p in points])


SOURCES = {"block_mnist": Source(block_info, block_build),
           "simplified_block_mnist": Source(simplified_info, simplified_build,
                                            simplified_build_points, ("sigma",)),
           "image_classification": Source(classification_info, classification_build)}
