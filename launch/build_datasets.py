r"""Prepares the image datasets once, as array_record files, for offline use.

Run on a machine with internet (preparing needs TensorFlow; reading does not):

  pip install -e .[build-data]
  python launch/build_datasets.py --datasets=mnist,cifar10 --data_dir=DIR

then copy DIR/<dataset> into the offline machine's TFDS data directory (its
$TFDS_DATA_DIR, or ~/tensorflow_datasets). `simplicity_bias.data.sources`
reads them there with `tfds.data_source`, which needs array_record files: a
copy prepared earlier by `tfds.load` (TFRecord files) cannot be read, and tfds
reuses it instead of writing array_record files, so use a fresh DIR then.
"""

import importlib.util
import sys

from absl import app
from absl import flags
import tensorflow_datasets as tfds

from simplicity_bias.data import sources

_DATASETS = flags.DEFINE_list(
    'datasets', list(sources.TFDS_DATASETS),
    f'TFDS names to prepare, among {", ".join(sources.TFDS_DATASETS)}.',
)
_DATA_DIR = flags.DEFINE_string(
    'data_dir', None,
    'Where to write them; defaults to $TFDS_DATA_DIR, then '
    '~/tensorflow_datasets.',
)


def prepare(name: str, data_dir: str) -> None:
  """Downloads `name` and writes it to `data_dir` as array_record files."""
  builder = tfds.builder(name, data_dir=data_dir)
  builder.download_and_prepare(file_format='array_record')
  problem = sources.preparation_error(name, data_dir)
  if problem is not None:
    raise RuntimeError(str(problem))
  print(f'{name}: prepared in {builder.data_dir}')


def main(argv):
  del argv
  unknown = [
      name for name in _DATASETS.value if name not in sources.TFDS_DATASETS
  ]
  if unknown:
    print(
        f'error: unknown dataset(s) {", ".join(unknown)}; choose among '
        f'{", ".join(sources.TFDS_DATASETS)}.',
        file=sys.stderr,
    )
    return 2
  # Checked up front: tfds imports without TensorFlow but needs it to encode
  # the downloaded images, and would otherwise fail midway through a download.
  if importlib.util.find_spec('tensorflow') is None:
    print(
        'error: preparing datasets needs TensorFlow, which is not installed: '
        'run `pip install -e .[build-data]` (or `pip install tensorflow-cpu`) '
        'on a machine with internet, then rerun this script.',
        file=sys.stderr,
    )
    return 1
  data_dir = sources.resolve_data_dir(_DATA_DIR.value)
  for name in _DATASETS.value:
    prepare(name, data_dir)
  print(
      f'Done. Copy the prepared folders ({", ".join(_DATASETS.value)}) from '
      f'{data_dir} into the TFDS data directory of the machine that trains.'
  )
  return 0


if __name__ == '__main__':
  app.run(main)
