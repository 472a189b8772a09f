"""Imports MNIST, Fashion-MNIST, CIFAR-10 and SVHN from their raw files.

Researchers often hold these datasets already, as the files torchvision and
keras download. Reading those needs only numpy (and scipy for SVHN), whereas a
TFDS build needs TensorFlow and internet. `import_raw` reads whatever a raw
directory holds, validates every file, and writes the arrays to the imported
store (`store.imported_path`), which `sources.load_split` reads first.

A raw directory holds any of these (gzip is optional for the idx files):

  RAW/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
  RAW/fashion_mnist/ (the same four names)
  RAW/cifar-10-batches-py/{data_batch_1, ..., data_batch_5, test_batch}
  RAW/svhn/{train,test}_32x32.mat

The readers are strict, because a silently short or mislabelled dataset would
only show up as odd results much later: a file that is missing, truncated or
not laid out as its format says raises RawDataError naming the file, and the
split sizes must be the official ones unless `allow_partial` (for small test
files). CIFAR-10's batches are python pickles, which can run arbitrary code
when loaded, so they are read by an unpickler that builds only the numpy
objects a batch holds.
"""

from __future__ import annotations

import codecs
import dataclasses
import datetime
import functools
import gzip
import hashlib
import io
import json
import os
import pickle
from typing import Iterable
import zlib

import numpy as np

from simplicity_bias.data import store
from simplicity_bias.data.store import write_atomically

# Folder of each dataset (by TFDS name) inside a raw directory.
RAW_FOLDERS = {
    "mnist": "mnist",
    "fashion_mnist": "fashion_mnist",
    "cifar10": "cifar-10-batches-py",
    "svhn_cropped": "svhn",
}
RAW_FORMATS = {
    "mnist": "idx files",
    "fashion_mnist": "idx files",
    "cifar10": "python pickle batches",
    "svhn_cropped": ".mat files",
}
OFFICIAL_COUNTS = {
    "mnist": {"train": 60_000, "test": 10_000},
    "fashion_mnist": {"train": 60_000, "test": 10_000},
    "cifar10": {"train": 50_000, "test": 10_000},
    "svhn_cropped": {"train": 73_257, "test": 26_032},
}
NUM_CLASSES = 10

# idx magic numbers: two zero bytes, the element type (0x08: uint8), the
# number of dimensions.
IDX_IMAGES_MAGIC = 0x00000803
IDX_LABELS_MAGIC = 0x00000801
_GZIP_MAGIC = b"\x1f\x8b"
_MNIST_FILE_PREFIXES = {"train": "train", "test": "t10k"}
_MNIST_SIDE = 28
_CIFAR_BATCHES = {
    "train": tuple(f"data_batch_{index}" for index in range(1, 6)),
    "test": ("test_batch",),
}
_CIFAR_SHAPE = (3, 32, 32)  # each row of a batch, channel-major
_SVHN_FILES = {"train": "train_32x32.mat", "test": "test_32x32.mat"}
_SVHN_SHAPE = (32, 32, 3)


class RawDataError(ValueError):
  """A raw file is missing, or does not hold what its format promises."""


@dataclasses.dataclass(frozen=True)
class SourceFile:
  """One raw file as it was read, identified for the provenance record."""

  path: str
  sha256: str
  num_bytes: int


@dataclasses.dataclass(frozen=True, eq=False)
class RawSplit:
  """One split read from raw files.

  Attributes:
    images: uint8 (N, H, W, C), as `sources.ImageSplit` holds them.
    labels: int32 (N,), 0..9.
    source_files: the files it was read from, in reading order.
  """

  images: np.ndarray
  labels: np.ndarray
  source_files: tuple[SourceFile, ...]

  @property
  def num_examples(self) -> int:
    return len(self.labels)


@dataclasses.dataclass(frozen=True, eq=False)
class RawDataset:
  """The 'train' and 'test' splits of one dataset, with the folder read."""

  name: str
  folder: str
  splits: dict[str, RawSplit]


# ----------------------------------------------------------------- files


def _read_file(path: str) -> tuple[bytes, SourceFile]:
  """Reads a whole file once, so the hash recorded is of the bytes parsed."""
  try:
    with open(path, "rb") as file:
      data = file.read()
  except FileNotFoundError:
    raise RawDataError(f"{path} is missing.") from None
  except OSError as error:
    raise RawDataError(f"{path} cannot be read ({error}).") from error
  source = SourceFile(
      os.path.abspath(path), hashlib.sha256(data).hexdigest(), len(data)
  )
  return data, source


def _gunzip_if_gzipped(data: bytes, path: str) -> bytes:
  """Decompresses gzip data, recognised by content rather than by name.

  Browsers often decompress a downloaded .gz file but keep its name, so the
  name alone cannot say which it is.
  """
  if not data.startswith(_GZIP_MAGIC):
    return data
  try:
    return gzip.decompress(data)
  except (OSError, EOFError, zlib.error) as error:
    raise RawDataError(
        f"{path} is not a complete gzip file ({error})."
    ) from error


def _check_labels(labels: np.ndarray, path: str, low: int = 0) -> None:
  """Labels outside the classes would index past a model's logits."""
  high = low + NUM_CLASSES - 1
  if labels.size and (labels.min() < low or labels.max() > high):
    bad = np.flatnonzero((labels < low) | (labels > high))[0]
    raise RawDataError(
        f"{path} has label {labels[bad]} at index {bad}; labels must be"
        f" {low}..{high}."
    )


# ------------------------------------------------------------------- idx


def parse_idx(data: bytes, path: str, expected_magic: int) -> np.ndarray:
  """Parses the (decompressed) bytes of an idx file holding uint8 elements.

  Args:
    data: the file's bytes.
    path: the file's name, for error messages.
    expected_magic: IDX_IMAGES_MAGIC or IDX_LABELS_MAGIC; its last byte is
      the number of dimensions.

  Returns:
    A uint8 array shaped as the header says.

  Raises:
    RawDataError: wrong magic number, or the data is not exactly as long as
      the header promises.
  """
  num_dims = expected_magic & 0xFF
  header_size = 4 + 4 * num_dims
  if len(data) < header_size:
    raise RawDataError(
        f"{path} is truncated: {len(data)} bytes, shorter than the"
        f" {header_size}-byte header of its format."
    )
  magic = int.from_bytes(data[:4], "big")
  if magic != expected_magic:
    kind = "images" if expected_magic == IDX_IMAGES_MAGIC else "labels"
    raise RawDataError(
        f"{path} starts with magic number 0x{magic:08x}, not"
        f" 0x{expected_magic:08x} (idx {kind}, uint8)."
    )
  shape = tuple(
      int.from_bytes(data[4 + 4 * dim:8 + 4 * dim], "big")
      for dim in range(num_dims)
  )
  expected_size = int(np.prod(shape))
  size = len(data) - header_size
  if size != expected_size:
    problem = "is truncated" if size < expected_size else "is too long"
    raise RawDataError(
        f"{path} {problem}: its header promises {expected_size} bytes of"
        f" data (shape {shape}), it holds {size}."
    )
  return np.frombuffer(data, np.uint8, expected_size, header_size).reshape(
      shape
  )


def read_idx(path: str, expected_magic: int) -> np.ndarray:
  """Reads an idx file, gzipped or not (see `parse_idx`)."""
  return _read_idx(path, expected_magic)[0]


def _read_idx(path: str, expected_magic: int) -> tuple[np.ndarray, SourceFile]:
  data, source = _read_file(path)
  return parse_idx(_gunzip_if_gzipped(data, path), path, expected_magic), source


def _find_idx(folder: str, base_name: str) -> str:
  """`base_name`, else `base_name`.gz (torchvision keeps both once unpacked)."""
  for name in (base_name, base_name + ".gz"):
    path = os.path.join(folder, name)
    if os.path.isfile(path):
      return path
  raise RawDataError(f"{os.path.join(folder, base_name)}[.gz] is missing.")


def read_mnist_format(folder: str, name: str = "mnist") -> RawDataset:
  """Reads MNIST or Fashion-MNIST (same layout) from their four idx files."""
  splits = {}
  for split, prefix in _MNIST_FILE_PREFIXES.items():
    images_path = _find_idx(folder, f"{prefix}-images-idx3-ubyte")
    labels_path = _find_idx(folder, f"{prefix}-labels-idx1-ubyte")
    images, images_source = _read_idx(images_path, IDX_IMAGES_MAGIC)
    labels, labels_source = _read_idx(labels_path, IDX_LABELS_MAGIC)
    if images.shape[1:] != (_MNIST_SIDE, _MNIST_SIDE):
      raise RawDataError(
          f"{images_path} holds {images.shape[1]}x{images.shape[2]} images;"
          f" {name} images are {_MNIST_SIDE}x{_MNIST_SIDE}."
      )
    if len(images) != len(labels):
      raise RawDataError(
          f"{images_path} holds {len(images)} images but {labels_path} holds"
          f" {len(labels)} labels."
      )
    _check_labels(labels, labels_path)
    splits[split] = RawSplit(
        images[..., None].copy(), labels.astype(np.int32),
        (images_source, labels_source),
    )
  return RawDataset(name, folder, splits)


# --------------------------------------------------------------- CIFAR-10


@functools.cache
def _allowed_pickle_globals() -> dict[tuple[str, str], object]:
  """The only objects a CIFAR-10 batch pickle may name, and what they load as.

  numpy's array constructors are taken from how this numpy pickles arrays, so
  that batches pickled by numpy 1 (numpy.core) and numpy 2 (numpy._core) both
  load. `_codecs.encode` is how protocol 2 pickles bytes under Python 3.
  """
  array = np.zeros(1, np.uint8)
  reconstruct = array.__reduce__()[0]
  frombuffer = array.__reduce_ex__(5)[0]
  scalar = np.uint8(0).__reduce__()[0]
  allowed = {
      ("numpy", "ndarray"): np.ndarray,
      ("numpy", "dtype"): np.dtype,
      ("_codecs", "encode"): codecs.encode,
  }
  for package in ("numpy.core", "numpy._core"):
    allowed[(f"{package}.multiarray", "_reconstruct")] = reconstruct
    allowed[(f"{package}.multiarray", "scalar")] = scalar
    allowed[(f"{package}.numeric", "_frombuffer")] = frombuffer
  return allowed


class _NumpyOnlyUnpickler(pickle.Unpickler):
  """Unpickles plain containers and numpy arrays, and refuses anything else."""

  def find_class(self, module: str, name: str) -> object:
    allowed = _allowed_pickle_globals()
    if (module, name) not in allowed:
      raise pickle.UnpicklingError(
          f"it names {module}.{name}, which a CIFAR-10 batch never does, so it"
          " was not loaded"
      )
    return allowed[(module, name)]


def _batch_entry(batch: dict, key: str, path: str) -> object:
  """batch[b'key'] or batch['key']: Python 2 and 3 pickles differ here."""
  for candidate in (key.encode(), key):
    if candidate in batch:
      return batch[candidate]
  raise RawDataError(
      f"{path} has no {key!r} entry (it has {sorted(map(repr, batch))})."
  )


def read_cifar_batch(path: str) -> tuple[np.ndarray, np.ndarray]:
  """Reads one CIFAR-10 batch as uint8 NHWC images and int32 labels."""
  images, labels, _ = _read_cifar_batch(path)
  return images, labels


def _read_cifar_batch(path: str) -> tuple[np.ndarray, np.ndarray, SourceFile]:
  data, source = _read_file(path)
  try:
    batch = _NumpyOnlyUnpickler(io.BytesIO(data), encoding="bytes").load()
  except Exception as error:  # pylint: disable=broad-except
    # Damaged pickles fail in many ways (EOFError, UnpicklingError,
    # ValueError, ...); all of them mean the file is unusable.
    raise RawDataError(
        f"{path} is not a readable CIFAR-10 batch pickle ({error})."
    ) from error
  if not isinstance(batch, dict):
    raise RawDataError(
        f"{path} holds a {type(batch).__name__}, not a CIFAR-10 batch (a"
        " dict)."
    )
  pixels = _batch_entry(batch, "data", path)
  row_size = int(np.prod(_CIFAR_SHAPE))
  if (
      not isinstance(pixels, np.ndarray)
      or pixels.dtype != np.uint8
      or pixels.ndim != 2
      or pixels.shape[1] != row_size
  ):
    found = (
        f"dtype {pixels.dtype}, shape {pixels.shape}"
        if isinstance(pixels, np.ndarray) else f"a {type(pixels).__name__}"
    )
    raise RawDataError(
        f"{path}: 'data' must be a uint8 array of shape [N, {row_size}] (one"
        f" 3x32x32 image per row), got {found}."
    )
  labels = np.asarray(_batch_entry(batch, "labels", path))
  if labels.ndim != 1 or not (
      labels.size == 0 or np.issubdtype(labels.dtype, np.integer)
  ):
    raise RawDataError(
        f"{path}: 'labels' must be a list of integers, not {labels.dtype}"
        f" with shape {labels.shape}."
    )
  if len(labels) != len(pixels):
    raise RawDataError(
        f"{path} holds {len(pixels)} images but {len(labels)} labels."
    )
  _check_labels(labels, path)
  # Rows are channel-major (all red, then green, then blue); NHWC as
  # everywhere else in this project.
  images = np.ascontiguousarray(
      pixels.reshape((-1,) + _CIFAR_SHAPE).transpose(0, 2, 3, 1)
  )
  return images, labels.astype(np.int32), source


def read_cifar10(folder: str) -> RawDataset:
  """Reads CIFAR-10 from its python pickle batches (cifar-10-batches-py)."""
  splits = {}
  for split, batch_names in _CIFAR_BATCHES.items():
    batches = [_read_cifar_batch(os.path.join(folder, batch_name))
               for batch_name in batch_names]
    splits[split] = RawSplit(
        np.concatenate([images for images, _, _ in batches]),
        np.concatenate([labels for _, labels, _ in batches]),
        tuple(source for _, _, source in batches),
    )
  return RawDataset("cifar10", folder, splits)


# ------------------------------------------------------------------- SVHN


def read_svhn_mat(path: str) -> tuple[np.ndarray, np.ndarray]:
  """Reads one SVHN cropped-digits .mat file as NHWC images, labels 0..9."""
  images, labels, _ = _read_svhn_mat(path)
  return images, labels


def _read_svhn_mat(path: str) -> tuple[np.ndarray, np.ndarray, SourceFile]:
  # Imported here: only SVHN needs scipy's MATLAB reader.
  import scipy.io  # pylint: disable=g-import-not-at-top

  data, source = _read_file(path)
  try:
    mat = scipy.io.loadmat(io.BytesIO(data))
  except Exception as error:  # pylint: disable=broad-except
    # scipy raises ValueError, TypeError, NotImplementedError (v7.3 files)...
    raise RawDataError(
        f"{path} is not a readable MATLAB file ({error})."
    ) from error
  for key in ("X", "y"):
    if key not in mat:
      raise RawDataError(f"{path} has no {key!r} variable.")
  pixels, labels = mat["X"], np.asarray(mat["y"]).reshape(-1)
  if pixels.dtype != np.uint8 or pixels.shape[:3] != _SVHN_SHAPE or (
      pixels.ndim != 4
  ):
    raise RawDataError(
        f"{path}: 'X' must be a uint8 array of shape [32, 32, 3, N], not"
        f" {pixels.dtype} with shape {pixels.shape}."
    )
  if not np.issubdtype(labels.dtype, np.integer):
    raise RawDataError(f"{path}: 'y' must hold integers, not {labels.dtype}.")
  if len(labels) != pixels.shape[3]:
    raise RawDataError(
        f"{path} holds {pixels.shape[3]} images but {len(labels)} labels."
    )
  # SVHN labels the digit 0 as 10; TFDS (and every other source here) as 0.
  _check_labels(labels, path, low=1)
  images = np.ascontiguousarray(pixels.transpose(3, 0, 1, 2))
  return images, (labels % NUM_CLASSES).astype(np.int32), source


def read_svhn(folder: str) -> RawDataset:
  """Reads SVHN cropped digits from {train,test}_32x32.mat."""
  splits = {}
  for split, file_name in _SVHN_FILES.items():
    images, labels, source = _read_svhn_mat(os.path.join(folder, file_name))
    splits[split] = RawSplit(images, labels, (source,))
  return RawDataset("svhn_cropped", folder, splits)


# ---------------------------------------------------------------- import


def read_raw_dataset(
    name: str, folder: str, *, allow_partial: bool = False
) -> RawDataset:
  """Reads and validates dataset `name` (a TFDS name) from `folder`.

  Raises:
    RawDataError: a file is missing or malformed, or (unless `allow_partial`)
      a split does not have its official size.
  """
  if name == "cifar10":
    dataset = read_cifar10(folder)
  elif name == "svhn_cropped":
    dataset = read_svhn(folder)
  elif name in ("mnist", "fashion_mnist"):
    dataset = read_mnist_format(folder, name)
  else:
    raise ValueError(f"No raw reader for {name!r}; choose among {RAW_FOLDERS}.")
  problems = unofficial_counts(dataset)
  if problems and not allow_partial:
    raise RawDataError(
        f"{problems[0]}, so the files in {folder} are not the full dataset"
        " (allow_partial / --allow_partial imports them anyway)."
    )
  return dataset


def unofficial_counts(dataset: RawDataset) -> list[str]:
  """One phrase per split whose size is not the official one."""
  return [
      f"{dataset.name} {split} has {dataset.splits[split].num_examples:,}"
      f" examples, not the official {expected:,}"
      for split, expected in OFFICIAL_COUNTS[dataset.name].items()
      if dataset.splits[split].num_examples != expected
  ]


def find_raw_datasets(raw_dir: str) -> dict[str, str]:
  """{TFDS name: folder} for each dataset folder present in `raw_dir`."""
  if not os.path.isdir(raw_dir):
    raise RawDataError(f"{raw_dir} is not a directory.")
  found = {}
  for name, folder_name in RAW_FOLDERS.items():
    folder = os.path.join(raw_dir, folder_name)
    if os.path.isdir(folder):
      found[name] = folder
  return found


def expected_layout() -> str:
  """The raw folders this module reads, for messages."""
  parts = [f"{folder}/ ({RAW_FORMATS[name]})"
           for name, folder in RAW_FOLDERS.items()]
  return ", ".join(parts[:-1]) + " or " + parts[-1]


def provenance(dataset: RawDataset) -> dict[str, object]:
  """The JSON record of where an imported dataset came from."""
  splits = {}
  for split, raw_split in dataset.splits.items():
    splits[split] = {
        "file": os.path.basename(store.imported_path(dataset.name, split)),
        "num_examples": raw_split.num_examples,
        "image_shape": list(raw_split.images.shape[1:]),
        "label_counts": np.bincount(
            raw_split.labels, minlength=NUM_CLASSES
        ).tolist(),
        "source_files": [
            {
                "name": os.path.basename(source.path),
                "sha256": source.sha256,
                "bytes": source.num_bytes,
            }
            for source in raw_split.source_files
        ],
    }
  return {
      "dataset": dataset.name,
      "imported_from": os.path.abspath(dataset.folder),
      "format": RAW_FORMATS[dataset.name],
      "imported_at": datetime.datetime.now(datetime.timezone.utc).isoformat(
          timespec="seconds"
      ),
      "official_counts": not unofficial_counts(dataset),
      "splits": splits,
  }


def write_store(dataset: RawDataset, data_dir: str | None = None) -> str:
  """Writes `dataset` where `sources.load_split` reads it first.

  One .npz per split (uncompressed `images` and `labels`, as in the cache),
  then `<name>.source.json`. An earlier record is removed first and the new
  one written last, so a record always describes the .npz files beside it,
  even after an import that was interrupted.

  Returns:
    The store folder.
  """
  record_path = store.provenance_path(dataset.name, data_dir)
  folder = os.path.dirname(record_path)
  os.makedirs(folder, exist_ok=True)
  if os.path.exists(record_path):
    os.remove(record_path)
  for split, raw_split in dataset.splits.items():
    write_atomically(
        store.imported_path(dataset.name, split, data_dir),
        lambda file, s=raw_split: np.savez(
            file, images=s.images, labels=s.labels
        ),
    )
  record = json.dumps(provenance(dataset), indent=2) + "\n"
  write_atomically(record_path, lambda file: file.write(record.encode()))
  return folder


def import_raw(
    raw_dir: str,
    data_dir: str | None = None,
    *,
    names: Iterable[str] | None = None,
    allow_partial: bool = False,
) -> dict[str, RawDataset]:
  """Imports every dataset found in `raw_dir` (or only `names`) to the store.

  All of them are read and validated before any is written, so an import
  that fails on one file leaves the store as it was.

  Args:
    raw_dir: the raw directory (layout in the module docstring).
    data_dir: the data directory; see `store.resolve_data_dir`.
    names: TFDS names to import, each of which must be present; by default
      every dataset present.
    allow_partial: accept splits smaller or larger than the official ones.

  Returns:
    {TFDS name: dataset} of what was imported.

  Raises:
    RawDataError: nothing to import, a requested dataset is missing, or a
      file is missing or malformed.
  """
  found = find_raw_datasets(raw_dir)
  if names is not None:
    names = list(names)
    unknown = [name for name in names if name not in RAW_FOLDERS]
    if unknown:
      raise ValueError(
          f"No raw reader for {unknown}; choose among {list(RAW_FOLDERS)}."
      )
    for name in names:
      if name not in found:
        raise RawDataError(
            f"{os.path.join(raw_dir, RAW_FOLDERS[name])} is missing, so"
            f" {name} cannot be imported."
        )
    found = {name: found[name] for name in names}
  if not found:
    raise RawDataError(
        f"{raw_dir} holds no raw dataset: expected {expected_layout()}."
    )
  datasets = {
      name: read_raw_dataset(name, folder, allow_partial=allow_partial)
      for name, folder in found.items()
  }
  for dataset in datasets.values():
    write_store(dataset, data_dir)
  return datasets
