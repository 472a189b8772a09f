"""Generated mock image datasets: MNIST, Fashion-MNIST, CIFAR-10 and SVHN look-alikes.

A run that must work anywhere, offline and in seconds (every config's `:smoke` preset, the
tests) reads these instead of the real datasets:

  python launch/train.py --config=configs/mnist_cifar.py:smoke --workdir=W   # data_dir 'mock'
  python launch/train.py --config=configs/block_mnist.py:cpu --workdir=W \\
      --config.data.data_dir=mock

`data_dir='mock'` (see `is_mock`) makes `store.load_split` generate the dataset on first use
into the mock data directory (`default_dir`: `$SIMPLICITY_BIAS_MOCK_DATA_DIR`, else
`$XDG_CACHE_HOME/simplicity_bias/mock_data` or `~/.cache/simplicity_bias/mock_data`, one
subfolder per generator version) and read it from there like any imported dataset: the files are
the imported store that `launch/build_datasets.py --from_raw` writes (`<name>_<split>.npz` with
uint8 NHWC `images` and int32 `labels`, and the `<name>.source.json` record), so the real loading
code runs unchanged. A local folder named `mock` is `./mock`. `generate` writes a dataset into
any data directory.

The images are NOT the datasets they imitate, only their shapes and label range. In the
grayscale ones (MNIST, Fashion-MNIST) each class has a fixed random pattern of coarse blocks inside
MNIST's central 20x20 box (the rest black) and every image is its class pattern mixed with
independent uniform noise, so a model can learn the labels. The colour ones (CIFAR-10, SVHN) are
uniform noise whose labels carry no information: in MNIST-CIFAR the digit block is then the only
predictive one, so a model that learns must learn the digits (its MNIST-randomized AUC falls to
chance, its CIFAR-randomized AUC stays at the standard one). Labels are balanced
(`SPLIT_SIZES[split] / 10` per class). The record says the data is generated (`GENERATED_KEY`);
every split read from such a store has `is_mnist=False` and `note` saying what it is
(`note(name)`), which results and reports carry as their data source, as for the scikit-learn
digits. The same seed and `VERSION` give the same bytes on every machine (integer arithmetic
only).
"""

from __future__ import annotations

import json
import os

import numpy as np

from simplicity_bias.data import store

# Where the generated data lives, and the store record's mark, are the data directory's business
# (`store`); the names stay here for the generator's users.
MOCK = store.MOCK
ENV_DIR = store.MOCK_ENV_DIR
VERSION = store.MOCK_VERSION
GENERATED_KEY = store.GENERATED_KEY
is_mock = store.is_mock
default_dir = store.mock_dir

SEED = 0
SPLIT_SIZES = {"train": 500, "test": 200}
NUM_CLASSES = 10

IMAGE_SHAPES = {
    "mnist": (28, 28, 1),
    "fashion_mnist": (28, 28, 1),
    "cifar10": (32, 32, 3),
    "svhn_cropped": (32, 32, 3),
}
# Fixed per dataset (not the dict order), so that adding a dataset changes no other's bytes.
_STREAMS = {"mnist": 0, "fashion_mnist": 1, "cifar10": 2, "svhn_cropped": 3}
_SPLIT_STREAMS = {"train": 0, "test": 1}
# Datasets whose images show their class (see the module docstring).
_LABELLED_IMAGES = ("mnist", "fashion_mnist")
# Class patterns are blocks of this many pixels a side.
_CELL = 7
# MNIST centres its digits in a 20x20 box of the 28x28 frame; the border stays black.
_BOX_MARGIN = 4
# An image is (PATTERN * pattern + NOISE * noise) / (PATTERN + NOISE), in integers.
_PATTERN_WEIGHT, _NOISE_WEIGHT = 3, 2


def note(name: str) -> str:
  """What a generated `name` is, for results ('..., not MNIST' for the digits)."""
  display = store.TFDS_DATASETS[name]
  what = "class patterns plus noise" if name in _LABELLED_IMAGES else "noise, uninformative labels"
  return f"mock {display}: generated images ({what}; simplicity_bias.data.mock), not {display}"


def _check_name(name: str) -> None:
  if name not in IMAGE_SHAPES:
    raise ValueError(f"No mock for {name!r}; choose one of {sorted(IMAGE_SHAPES)}.")


def _digit_box(name: str) -> np.ndarray:
  """(H, W, 1) ones inside MNIST's central 20x20 box, zeros on the border."""
  height, width, _ = IMAGE_SHAPES[name]
  box = np.zeros((height, width, 1), np.uint16)
  box[_BOX_MARGIN:height - _BOX_MARGIN, _BOX_MARGIN:width - _BOX_MARGIN] = 1
  return box


def _class_patterns(name: str, seed: int) -> np.ndarray:
  """uint16 (NUM_CLASSES, H, W, C): each class's fixed pattern, shared by its splits."""
  height, width, channels = IMAGE_SHAPES[name]
  rng = np.random.default_rng([seed, _STREAMS[name]])
  coarse = rng.integers(0, 256, (NUM_CLASSES, height // _CELL, width // _CELL, channels),
                        dtype=np.uint16)
  return np.repeat(np.repeat(coarse, _CELL, axis=1), _CELL, axis=2)


def generate_split(name: str, split: str, seed: int = SEED,
                   num_examples: int | None = None) -> tuple[np.ndarray, np.ndarray]:
  """One generated split: uint8 (N, H, W, C) images and int32 (N,) balanced labels.

  Args:
    name: 'mnist', 'fashion_mnist', 'cifar10' or 'svhn_cropped'.
    split: 'train' or 'test' (independent noise and label order; the same class patterns).
    seed: the generator seed.
    num_examples: the split size; default SPLIT_SIZES[split].
  """
  _check_name(name)
  if split not in _SPLIT_STREAMS:
    raise ValueError(f"Mock datasets have splits 'train' and 'test', not {split!r}.")
  num_examples = SPLIT_SIZES[split] if num_examples is None else num_examples
  rng = np.random.default_rng([seed, _STREAMS[name], 1 + _SPLIT_STREAMS[split]])
  labels = rng.permutation(np.arange(num_examples) % NUM_CLASSES).astype(np.int32)
  noise = rng.integers(0, 256, (num_examples,) + IMAGE_SHAPES[name], dtype=np.uint8)
  if name not in _LABELLED_IMAGES:
    return noise, labels
  mixed = (_PATTERN_WEIGHT * _class_patterns(name, seed)[labels]
           + _NOISE_WEIGHT * noise.astype(np.uint16)) // (_PATTERN_WEIGHT + _NOISE_WEIGHT)
  return (mixed * _digit_box(name)).astype(np.uint8), labels


def _record(name: str, seed: int, splits: dict) -> dict:
  return {
      "dataset": name,
      GENERATED_KEY: {"by": "simplicity_bias.data.mock", "version": VERSION, "seed": seed,
                      "note": note(name)},
      "official_counts": False,
      "splits": {
          split: {"file": os.path.basename(store.imported_path(name, split)),
                  "num_examples": len(labels), "image_shape": list(images.shape[1:]),
                  "label_counts": np.bincount(labels, minlength=NUM_CLASSES).tolist()}
          for split, (images, labels) in splits.items()
      },
  }


def generate(name: str, data_dir: str | os.PathLike[str], seed: int = SEED) -> str:
  """Writes generated `name` into the imported store of `data_dir`; returns the store folder.

  Replaces an earlier generated copy, never a real import (ValueError). Every file is written
  atomically and the content is deterministic, so processes generating the same dataset at once
  do not conflict.
  """
  # Imported here: raw imports sources, which imports this module lazily.

  _check_name(name)
  data_dir = store.resolve_data_dir(data_dir)
  record_path = store.provenance_path(name, data_dir)
  if os.path.exists(record_path) and not store.generated_note(name, data_dir):
    raise ValueError(f"{os.path.dirname(record_path)} holds an imported {name}; mock data is "
                     "never written over it.")
  os.makedirs(os.path.dirname(record_path), exist_ok=True)
  splits = {split: generate_split(name, split, seed) for split in SPLIT_SIZES}
  for split, (images, labels) in splits.items():
    store.write_atomically(store.imported_path(name, split, data_dir),
                         lambda file, i=images, l=labels: np.savez(file, images=i, labels=l))
  # Written last: a record always describes complete .npz files beside it.
  text = json.dumps(_record(name, seed, splits), indent=2) + "\n"
  store.write_atomically(record_path, lambda file: file.write(text.encode()))
  return os.path.dirname(record_path)


def ensure(name: str, data_dir: str | os.PathLike[str], seed: int = SEED) -> str:
  """`generate` unless `data_dir` already holds this version and seed of it; the store folder."""
  data_dir = store.resolve_data_dir(data_dir)
  record_path = store.provenance_path(name, data_dir)
  try:
    with open(record_path, encoding="utf-8") as file:
      generated = json.load(file).get(GENERATED_KEY) or {}
  except (OSError, ValueError, AttributeError):
    generated = {}
  complete = all(os.path.exists(store.imported_path(name, split, data_dir))
                 for split in SPLIT_SIZES)
  if complete and generated.get("version") == VERSION and generated.get("seed") == seed:
    return os.path.dirname(record_path)
  return generate(name, data_dir, seed)
