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

import glob
import os
import tempfile
import zipfile

from absl import logging
import numpy as np

from simplicity_bias.data import mock, raw
from simplicity_bias.data.digits import SKLEARN_DIGITS, load_sklearn_digits
# ImageSplit and DatasetNotFoundError are this module's too (sources.ImageSplit).
from simplicity_bias.data.splits import DatasetNotFoundError, ImageSplit
from simplicity_bias.data.store import (
    TFDS_DATASETS,
    cache_path,
    generated_note,
    imported_path,
    new_file_mode,
    resolve_data_dir,
)

AVAILABLE_SOURCES = tuple(TFDS_DATASETS) + (SKLEARN_DIGITS,)

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
