"""Image dataset sources: imported or TFDS array_record splits as numpy arrays.

`load_split` looks in three places under the data directory, in this order:

1. The imported store, `<data_dir>/simplicity_bias_imported/<name>_<split>.npz`
   (uint8 NHWC `images`, int32 `labels`), beside a `<name>.source.json`
   record of the raw files it came from. `launch/build_datasets.py
   --from_raw=DIR` writes it from the files torchvision and keras download
   (MNIST's idx files, CIFAR-10's python pickle batches, ...; see
   `simplicity_bias.data.raw`), with neither TensorFlow nor internet. It is a
   copy of the data, not a cache: deleting it loses the dataset until the raw
   files are imported again.
2. The cache, `<data_dir>/simplicity_bias_cache/<name>_<split>.npz`. Decoding
   tens of thousands of PNG records takes a while, so the first load of a
   TFDS split stacks it into these arrays and later loads read only this file.
   Delete the cache folder after re-preparing a dataset.
3. The TFDS build, read with `tfds.data_source` (random-access array_record
   files), never `tfds.load`, so TensorFlow is not needed at run time; only
   preparing the files (`launch/build_datasets.py`, on a machine with
   internet) needs it. tensorflow_datasets itself is imported only here, as it
   takes about a second to import, which every run that never reads a TFDS
   build (synthetic data, imported data) would otherwise pay.

`data_dir='mock'` reads generated look-alikes of these datasets instead
(`simplicity_bias.data.mock`): they are written into the imported store of the
mock data directory on first use and read like any imported dataset.

Stand-ins say what they are: a split whose store record marks it as generated,
and every split of `sklearn_digits` (an offline stand-in for MNIST built from
scikit-learn's bundled 8x8 handwritten digits, 1,797 low-resolution images),
has `is_mnist=False` and a `note`, which results carry as their data source.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import tempfile
import zipfile

from absl import logging
import numpy as np

from simplicity_bias.data import mock, raw
from simplicity_bias.data.store import (
    TFDS_DATASETS,
    cache_path,
    generated_note,
    imported_path,
    new_file_mode,
    resolve_data_dir,
)

SKLEARN_DIGITS = "sklearn_digits"
AVAILABLE_SOURCES = tuple(TFDS_DATASETS) + (SKLEARN_DIGITS,)

SKLEARN_DIGITS_NOTE = (
    "digits from scikit-learn's 8x8 set (1,797 images, upsampled to 28x28), "
    "not MNIST"
)

# The stand-in copies MNIST's layout: MNIST digits are size-normalised into a
# 20x20 box centred in a 28x28 frame, whereas the 8x8 digits fill their frame.
_DIGIT_BOX_SIZE = 20
_MNIST_SIZE = 28
_SKLEARN_DIGITS_MAX_VALUE = 16
# Fixed so that the train/test split of the stand-in never changes.
_SKLEARN_DIGITS_SPLIT_SEED = 0
_SKLEARN_DIGITS_TRAIN_FRACTION = 0.8


class DatasetNotFoundError(ValueError):
  """A dataset is neither imported nor prepared (as array_record files)."""


@dataclasses.dataclass(frozen=True, eq=False)
class ImageSplit:
  """One split of an image classification dataset, held in memory.

  Attributes:
    images: uint8 array of shape (N, H, W, C), pixel values 0..255.
    labels: int32 array of shape (N,), int32 being JAX's default integer width.
    name: the source name, e.g. 'mnist' or 'sklearn_digits'.
    split: the split it came from, e.g. 'train'.
    is_mnist: False whenever the digits are not real MNIST, so that results
      obtained with a stand-in are never reported as MNIST results.
    note: empty for the real datasets; says what the data really is otherwise.
  """

  images: np.ndarray
  labels: np.ndarray
  name: str
  split: str
  is_mnist: bool
  note: str = ""

  def __post_init__(self):
    # Checked here so that a malformed cache or source fails at load time,
    # not deep inside a training step.
    if self.images.dtype != np.uint8 or self.images.ndim != 4:
      raise ValueError(
          f"{self.name}/{self.split}: images must be uint8 NHWC, got "
          f"{self.images.dtype} with shape {self.images.shape}."
      )
    if self.labels.ndim != 1 or len(self.labels) != len(self.images):
      raise ValueError(
          f"{self.name}/{self.split}: expected {len(self.images)} labels, got "
          f"shape {self.labels.shape}."
      )

  @property
  def num_examples(self) -> int:
    return len(self.labels)


def load_split(
    name: str,
    split: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
) -> ImageSplit:
  """Loads one split of `name` (see AVAILABLE_SOURCES) as numpy arrays.

  Args:
    name: a TFDS name from TFDS_DATASETS, or 'sklearn_digits'.
    split: a TFDS split string ('train', 'test', 'train[:1000]', ...);
      'sklearn_digits' has only 'train' and 'test'.
    data_dir: the TFDS data directory; defaults to $TFDS_DATA_DIR, then
      ~/tensorflow_datasets; 'mock': generated data (whole 'train' and
      'test' splits, see `simplicity_bias.data.mock`), made on first use.
      Unused by 'sklearn_digits'.
    use_cache: read and write the .npz cache beside the data. The imported
      store is read either way: it is the data itself, not a cache.

  Returns:
    The split as an ImageSplit.

  Raises:
    DatasetNotFoundError: the dataset is neither imported nor prepared in
      `data_dir`, or its imported copy is unreadable.
    ValueError: unknown source name.
  """

  if name == SKLEARN_DIGITS:
    return load_sklearn_digits(split)
  if name not in TFDS_DATASETS:
    raise ValueError(
        f"Unknown image source {name!r}; choose one of {AVAILABLE_SOURCES}."
    )
  if mock.is_mock(data_dir):
    mock.ensure(name, data_dir)
  data_dir = resolve_data_dir(data_dir)
  imported = imported_path(name, split, data_dir)
  if os.path.exists(imported):
    return _read_imported(imported, name, split, data_dir)
  path = cache_path(name, split, data_dir)
  if use_cache and os.path.exists(path):
    cached = _read_cache(path, name, split)
    if cached is not None:
      return cached
  imported_splits = _imported_splits(name, data_dir)
  if imported_splits and preparation_error(name, data_dir) is not None:
    # Otherwise TFDS would report the dataset as not prepared at all.
    raise DatasetNotFoundError(
        f"{TFDS_DATASETS[name]} is imported in"
        f" {os.path.dirname(imported)} as the whole splits"
        f' {", ".join(imported_splits)} only, not {split!r}: load one of'
        " those and slice its arrays."
    )
  images, labels = _stack_tfds_split(name, split, data_dir)
  result = ImageSplit(images, labels, name, split, is_mnist=name == "mnist")
  if use_cache:
    _write_cache(path, images, labels)
  return result


def _stack_tfds_split(
    name: str, split: str, data_dir: str
) -> tuple[np.ndarray, np.ndarray]:
  """Reads every record of a TFDS split into (images, labels) arrays."""
  # Imported here, not at the top: see the module docstring.
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

  try:
    # download=False: downloading here would need TensorFlow and a network.
    source = tfds.data_source(
        name, split=split, data_dir=data_dir, download=False
    )
  except Exception as error:  # pylint: disable=broad-except
    # tfds reports a missing dataset in ways that vary by version (here a
    # NotImplementedError about the TFRECORD format), so the file system,
    # not the exception type, decides whether the dataset is missing.
    not_found = preparation_error(name, data_dir)
    if not_found is not None:
      raise not_found from error
    raise
  num_records = len(source)
  logging.info(
      "Stacking %d records of %s/%s; cached after this.",
      num_records, name, split,
  )
  images = None
  labels = np.empty((num_records,), np.int32)
  # One record at a time: bulk `__getitems__` is not implemented by every
  # data source (it fails under tfds' mock), and one image is small.
  for index in range(num_records):
    record = source[index]
    image = np.asarray(record["image"], np.uint8)
    if images is None:
      images = np.empty((num_records,) + image.shape, np.uint8)
    images[index] = image
    labels[index] = int(record["label"])
  if images is None:
    raise ValueError(f"{name}/{split} in {data_dir} has no records.")
  return images, labels


def preparation_error(
    name: str, data_dir: str | os.PathLike[str] | None = None
) -> DatasetNotFoundError | None:
  """Why `name` cannot be read from `data_dir` (None if its files are there).

  Returned rather than raised so that callers can chain it to the tfds error
  it explains. Both routes are named: downloading needs internet and
  TensorFlow, importing raw files needs neither.
  """

  data_dir = resolve_data_dir(data_dir)
  display_name = TFDS_DATASETS[name]
  prepare = (
      "on a machine with internet run `pip install -e .[build-data] && python"
      f" launch/build_datasets.py --datasets={name} --data_dir=DIR`"
  )
  import_raw = (
      f"or, with the raw {raw.RAW_FORMATS[name]} in"
      f" RAW/{raw.RAW_FOLDERS[name]}/, run `python launch/build_datasets.py"
      f" --from_raw=RAW --data_dir={data_dir}`"
  )
  dataset_folder = os.path.join(data_dir, name)
  if not glob.glob(os.path.join(dataset_folder, "*", "dataset_info.json")):
    return DatasetNotFoundError(
        f"{display_name} is not prepared in {data_dir}: {prepare}, then copy"
        f" DIR/{name} to {data_dir} (or set TFDS_DATA_DIR), {import_raw}."
    )
  if not glob.glob(os.path.join(dataset_folder, "*", "*.array_record*")):
    # Typically prepared earlier by `tfds.load`, which writes TFRecord files
    # that `tfds.data_source` cannot read.
    return DatasetNotFoundError(
        f"{display_name} in {dataset_folder} has no array_record files (it was"
        f" probably prepared as TFRecord): {prepare} with a fresh DIR, then"
        f" replace {dataset_folder} with DIR/{name} (or set TFDS_DATA_DIR),"
        f" {import_raw}."
    )
  return None


def _imported_splits(name: str, data_dir: str) -> list[str]:
  """The splits of `name` in the imported store, e.g. ['test', 'train']."""
  prefix = imported_path(name, "", data_dir)[:-len(".npz")]
  return sorted(
      path[len(prefix):-len(".npz")] for path in glob.glob(prefix + "*.npz")
  )


def _read_imported(
    path: str, name: str, split: str, data_dir: str
) -> ImageSplit:
  """Reads an imported split; unlike the cache, it cannot be rebuilt here.

  So an unreadable file is an error naming the file and the import command,
  rather than a fall-through to TFDS that would report the dataset missing.
  """
  note = generated_note(name, data_dir)
  try:
    with np.load(path) as stored:
      return ImageSplit(
          stored["images"], stored["labels"].astype(np.int32, copy=False),
          name, split, is_mnist=name == "mnist" and not note, note=note,
      )
  except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
    raise DatasetNotFoundError(
        f"The imported {TFDS_DATASETS[name]} split {path} is unreadable"
        f" ({error}): import it again with `python launch/build_datasets.py"
        f" --from_raw=RAW --data_dir={data_dir}`."
    ) from error


def _read_cache(path: str, name: str, split: str) -> ImageSplit | None:
  """Reads a cached split; None (so it is rebuilt) if the file is unreadable."""
  try:
    with np.load(path) as cached:
      return ImageSplit(
          cached["images"], cached["labels"], name, split,
          is_mnist=name == "mnist",
      )
  except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
    logging.warning("Ignoring unreadable cache %s (%s).", path, error)
    return None


def _write_cache(path: str, images: np.ndarray, labels: np.ndarray) -> None:
  """Writes the cache atomically, so a crash never leaves a half-written file.

  A read-only data directory only costs speed, so failures are logged, not
  raised.
  """
  cache_folder = os.path.dirname(path)
  temp_path = None
  try:
    os.makedirs(cache_folder, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        dir=cache_folder, suffix=".npz.tmp", delete=False
    ) as temp_file:
      temp_path = temp_file.name
      # Uncompressed: loading speed matters more than disk space here.
      np.savez(temp_file, images=images, labels=labels)
    os.chmod(temp_path, new_file_mode())
    os.replace(temp_path, path)
  except OSError as error:
    logging.warning("Could not write the cache %s (%s).", path, error)
    if temp_path is not None and os.path.exists(temp_path):
      os.remove(temp_path)


def _bilinear_resize_matrix(source_size: int, target_size: int) -> np.ndarray:
  """(target_size, source_size) matrix that linearly resamples one axis.

  Uses half-pixel centres (as PIL and tf.image do); each row is a convex
  combination, so the resampled values stay within the source range.
  """
  centres = (np.arange(target_size) + 0.5) * source_size / target_size - 0.5
  centres = np.clip(centres, 0, source_size - 1)
  lower = np.floor(centres).astype(int)
  upper = np.minimum(lower + 1, source_size - 1)
  upper_weight = centres - lower
  matrix = np.zeros((target_size, source_size))
  rows = np.arange(target_size)
  np.add.at(matrix, (rows, lower), 1 - upper_weight)
  np.add.at(matrix, (rows, upper), upper_weight)
  return matrix


def sklearn_digits_as_mnist(digits_8x8: np.ndarray) -> np.ndarray:
  """Turns (N, 8, 8) digits with values 0..16 into MNIST-like uint8 images.

  Bilinear upsampling to 20x20, then 4 px of zero padding, gives 28x28x1
  images whose digit occupies the same central box as in MNIST.
  """
  resize = _bilinear_resize_matrix(digits_8x8.shape[-1], _DIGIT_BOX_SIZE)
  boxes = np.einsum("ij,njk,lk->nil", resize, digits_8x8, resize)
  boxes = np.clip(
      np.rint(boxes * (255 / _SKLEARN_DIGITS_MAX_VALUE)), 0, 255
  ).astype(np.uint8)
  margin = (_MNIST_SIZE - _DIGIT_BOX_SIZE) // 2
  return np.pad(boxes, ((0, 0), (margin, margin), (margin, margin)))[..., None]


def load_sklearn_digits(split: str) -> ImageSplit:
  """scikit-learn's bundled digits shaped like MNIST: an offline stand-in.

  Not MNIST: 1,797 images from 8x8 bitmaps. The split is fixed: a seeded
  permutation, first 80% train, last 20% test.

  Args:
    split: 'train' or 'test'.

  Returns:
    The split as an ImageSplit with `is_mnist=False` and a note saying so.
  """
  # Imported here: only this offline stand-in needs scikit-learn.
  # pylint: disable-next=g-import-not-at-top
  from sklearn import datasets as sklearn_datasets

  if split not in ("train", "test"):
    raise ValueError(
        f"{SKLEARN_DIGITS} has splits 'train' and 'test', not {split!r}."
    )
  digits = sklearn_datasets.load_digits()
  num_digits = len(digits.target)
  order = np.random.default_rng(_SKLEARN_DIGITS_SPLIT_SEED).permutation(
      num_digits
  )
  num_train = int(num_digits * _SKLEARN_DIGITS_TRAIN_FRACTION)
  chosen = order[:num_train] if split == "train" else order[num_train:]
  return ImageSplit(
      images=sklearn_digits_as_mnist(digits.images[chosen]),
      labels=digits.target[chosen].astype(np.int32),
      name=SKLEARN_DIGITS,
      split=split,
      is_mnist=False,
      note=SKLEARN_DIGITS_NOTE,
  )
