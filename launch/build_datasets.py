r"""Prepares the image datasets once for offline use: downloads or raw files.

Download mode, on a machine with internet (preparing needs TensorFlow;
reading does not):

  pip install -e .[build-data]
  python launch/build_datasets.py --datasets=mnist,cifar10 --data_dir=DIR

then copy DIR/<dataset> into the offline machine's data directory: the
launchers read --data_dir, else $TFDS_DATA_DIR, else ~/tensorflow_datasets
(launch/train.py's --config.data.data_dir comes before all three; see
`store.data_dir_order`). `simplicity_bias.data.sources` reads them there
with `tfds.data_source`, which needs array_record files: a copy prepared
earlier by `tfds.load` (TFRecord files) cannot be read, and tfds reuses it
instead of writing array_record files, so use a fresh DIR then.

Import mode, for datasets already on disk as the files torchvision and keras
download (needs neither TensorFlow nor internet):

  python launch/build_datasets.py --from_raw=RAW [--data_dir=DIR]

RAW may hold any of mnist/ and fashion_mnist/ (idx files, gzipped or not),
cifar-10-batches-py/ (python pickle batches) and svhn/ ({train,test}_32x32.mat);
see `simplicity_bias/data/raw.py`. Every file is validated, then the arrays go
to DIR/simplicity_bias_imported/, which `sources.load_split` reads before
anything else. Splits must have their official sizes; --allow_partial accepts
others (small test files). --datasets, if given, names which to import.
"""

import importlib.util
import os
import sys

from absl import app
from absl import flags

from simplicity_bias.configs import absl_parser
from simplicity_bias.data import raw
from simplicity_bias.data import sources
from simplicity_bias.data import store

_DATASETS = flags.DEFINE_list(
    "datasets", list(store.TFDS_DATASETS),
    f'TFDS names to prepare, among {", ".join(store.TFDS_DATASETS)}. With '
    "--from_raw: those to import (default: every one found).",
)
_DATA_DIR = flags.DEFINE_string(
    "data_dir", None,
    "Where to write them (the directory the training runs read). First set "
    f"wins: {store.data_dir_order(config_field=False)}.",
)
_FROM_RAW = flags.DEFINE_string(
    "from_raw", None,
    "Import from this directory of raw files (idx files, CIFAR-10 python "
    "pickle batches, SVHN .mat files) instead of downloading.",
)
_ALLOW_PARTIAL = flags.DEFINE_bool(
    "allow_partial", False,
    "With --from_raw: accept splits whose sizes are not the official ones.",
)


def error(message: str, status: int) -> int:
  print(f"error: {message}", file=sys.stderr)
  return status


def prepare(name: str, data_dir: str) -> None:
  """Downloads `name` and writes it to `data_dir` as array_record files."""
  # Imported here so that --from_raw runs without tensorflow_datasets' import.
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

  builder = tfds.builder(name, data_dir=data_dir)
  builder.download_and_prepare(file_format="array_record")
  problem = sources.preparation_error(name, data_dir)
  if problem is not None:
    raise RuntimeError(str(problem))
  print(f"{name}: prepared in {builder.data_dir}")


def import_from_raw(raw_dir: str, data_dir: str) -> int:
  """Imports what `raw_dir` holds and says what was imported or skipped."""
  names = _DATASETS.value if flags.FLAGS["datasets"].present else None
  try:
    datasets = raw.import_raw(
        raw_dir, data_dir, names=names, allow_partial=_ALLOW_PARTIAL.value
    )
  except raw.RawDataError as problem:
    return error(str(problem), 2)
  except OSError as problem:
    return error(f"could not write to {data_dir} ({problem}).", 1)
  for name, folder_name in raw.RAW_FOLDERS.items():
    if name in datasets:
      counts = ", ".join(
          f"{split} {raw_split.num_examples:,}"
          for split, raw_split in datasets[name].splits.items()
      )
      print(f"{name}: imported {counts} from {datasets[name].folder}")
    elif names is not None:
      print(f"{name}: skipped (not in --datasets)")
    else:
      print(f"{name}: skipped, {os.path.join(raw_dir, folder_name)} not found")
  for dataset in datasets.values():
    for problem in raw.unofficial_counts(dataset):
      print(f"warning: {problem} (--allow_partial).", file=sys.stderr)
  print(
      f'Done: {", ".join(datasets)} imported into '
      f"{os.path.join(data_dir, store.IMPORTED_FOLDER)}; runs read them with "
      f"data_dir (or TFDS_DATA_DIR) set to {data_dir}."
  )
  return 0


def main(argv):
  if len(argv) > 1:
    return error(f"unexpected arguments {argv[1:]}.", 2)
  unknown = [
      name for name in _DATASETS.value if name not in store.TFDS_DATASETS
  ]
  if unknown:
    return error(
        f'unknown dataset(s) {", ".join(unknown)}; choose among '
        f'{", ".join(store.TFDS_DATASETS)}.',
        2,
    )
  data_dir = store.resolve_data_dir(_DATA_DIR.value)
  if _FROM_RAW.value is not None:
    if not _FROM_RAW.value:
      return error("--from_raw needs a directory.", 2)
    return import_from_raw(
        os.path.abspath(os.path.expanduser(_FROM_RAW.value)), data_dir
    )
  if _ALLOW_PARTIAL.value:
    return error("--allow_partial applies only with --from_raw.", 2)
  # Checked up front: tfds imports without TensorFlow but needs it to encode
  # the downloaded images, and would otherwise fail midway through a download.
  if importlib.util.find_spec("tensorflow") is None:
    return error(
        "preparing datasets needs TensorFlow, which is not installed: "
        "run `pip install -e .[build-data]` (or `pip install tensorflow-cpu`) "
        "on a machine with internet, then rerun this script (or, with the raw "
        "files at hand, import them with --from_raw=RAW).",
        1,
    )
  for name in _DATASETS.value:
    prepare(name, data_dir)
  print(
      f'Done. Copy the prepared folders ({", ".join(_DATASETS.value)}) from '
      f"{data_dir} into the TFDS data directory of the machine that trains."
  )
  return 0


if __name__ == "__main__":
  app.run(main, flags_parser=absl_parser())
