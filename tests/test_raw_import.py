"""Tests for importing raw dataset files (raw.py, build_datasets.py --from_raw).

Tiny raw files are written here in each format (idx gzipped and not, CIFAR-10
pickle batches with bytes and with str keys, an SVHN .mat), imported, and read
back through `sources.load_split`, which must return exactly the pixels and
labels written. Broken files must fail with a message naming the file, before
anything is written. No network, no TensorFlow.
"""

import gzip
import hashlib
import json
import os
import pickle
import subprocess
import sys

from conftest import REPO
from conftest import run_launch
import numpy as np
import pytest
import scipy.io

from simplicity_bias.data import raw
from simplicity_bias.data import sources
from simplicity_bias.data import store

# ------------------------------------------------------------ raw file makers


def write_idx(path, array, magic=None, gz=False):
  """An idx file of uint8 `array`; `magic` overrides the one its rank gives."""
  magic = 0x800 + array.ndim if magic is None else magic
  data = magic.to_bytes(4, 'big') + b''.join(
      size.to_bytes(4, 'big') for size in array.shape
  ) + np.ascontiguousarray(array, np.uint8).tobytes()
  if gz:
    data = gzip.compress(data)
  with open(path, 'wb') as file:
    file.write(data)
  return path


def make_mnist(folder, seed=0, gz=True, counts=(5, 3)):
  """MNIST-format files; returns {split: (images [N,28,28], labels)}."""
  rng = np.random.default_rng(seed)
  os.makedirs(folder, exist_ok=True)
  suffix = '.gz' if gz else ''
  written = {}
  for split, prefix, count in (('train', 'train', counts[0]),
                               ('test', 't10k', counts[1])):
    images = rng.integers(0, 256, (count, 28, 28), np.uint8)
    labels = rng.integers(0, 10, count).astype(np.uint8)
    write_idx(os.path.join(folder, f'{prefix}-images-idx3-ubyte{suffix}'),
              images, gz=gz)
    write_idx(os.path.join(folder, f'{prefix}-labels-idx1-ubyte{suffix}'),
              labels, gz=gz)
    written[split] = (images, labels)
  return written


def chw_image(seed):
  """One CIFAR row as [3, 32, 32]: each channel flat, one pixel marked."""
  chw = np.empty((3, 32, 32), np.uint8)
  chw[0], chw[1], chw[2] = 10 + seed, 20 + seed, 30 + seed
  chw[:, 5, 7] = (1, 2, 3)  # row 5, column 7: red 1, green 2, blue 3
  return chw


def make_cifar(folder, str_keys=False, per_batch=2, num_test=3, protocol=4):
  """CIFAR-10 batches; returns {split: (chw images [N,3,32,32], labels)}."""
  os.makedirs(folder, exist_ok=True)
  written = {}
  seed = 0
  for split, batch_names, count in (
      ('train', [f'data_batch_{i}' for i in range(1, 6)], per_batch),
      ('test', ['test_batch'], num_test),
  ):
    all_images, all_labels = [], []
    for batch_name in batch_names:
      chw = np.stack([chw_image(seed + i) for i in range(count)])
      labels = [(seed + i) % 10 for i in range(count)]
      seed += count
      key = str if str_keys else str.encode
      batch = {key('data'): chw.reshape(count, 3072), key('labels'): labels,
               key('batch_label'): key(batch_name)}
      with open(os.path.join(folder, batch_name), 'wb') as file:
        pickle.dump(batch, file, protocol=protocol)
      all_images.append(chw)
      all_labels += labels
    written[split] = (np.concatenate(all_images), np.array(all_labels))
  return written


def make_svhn(folder, counts=(4, 2)):
  """SVHN .mat files ([32,32,3,N], labels 1..10); returns NHWC + raw y."""
  rng = np.random.default_rng(3)
  os.makedirs(folder, exist_ok=True)
  written = {}
  for split, count in zip(('train', 'test'), counts):
    nhwc = rng.integers(0, 256, (count, 32, 32, 3), np.uint8)
    y = np.array([[10], [1], [9], [10]][:count], np.uint8)
    scipy.io.savemat(os.path.join(folder, f'{split}_32x32.mat'),
                     {'X': nhwc.transpose(1, 2, 3, 0), 'y': y})
    written[split] = (nhwc, y.ravel())
  return written


def store_files(data_dir):
  folder = os.path.join(data_dir, store.IMPORTED_FOLDER)
  return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


# --------------------------------------------------------- library importer


@pytest.mark.parametrize('name', ['mnist', 'fashion_mnist'])
@pytest.mark.parametrize('gz', [True, False])
def test_idx_files_round_trip_through_load_split(name, gz, tmp_path):
  written = make_mnist(tmp_path / 'raw' / name, gz=gz)
  imported = raw.import_raw(
      str(tmp_path / 'raw'), str(tmp_path / 'data'), allow_partial=True
  )
  assert list(imported) == [name]
  for split, (images, labels) in written.items():
    loaded = sources.load_split(name, split, data_dir=tmp_path / 'data')
    assert loaded.images.shape == images.shape + (1,)
    assert loaded.images.dtype == np.uint8 and loaded.labels.dtype == np.int32
    np.testing.assert_array_equal(loaded.images[..., 0], images)
    np.testing.assert_array_equal(loaded.labels, labels)
    assert loaded.is_mnist == (name == 'mnist')


def test_gzip_is_recognised_by_content_not_name(tmp_path):
  # Browsers often unpack a downloaded .gz but keep its name.
  folder = tmp_path / 'raw' / 'mnist'
  written = make_mnist(folder, gz=False)
  for file_name in os.listdir(folder):
    os.rename(folder / file_name, folder / (file_name + '.gz'))
  raw.import_raw(str(tmp_path / 'raw'), str(tmp_path), allow_partial=True)
  loaded = sources.load_split('mnist', 'test', data_dir=tmp_path)
  np.testing.assert_array_equal(loaded.images[..., 0], written['test'][0])


@pytest.mark.parametrize('str_keys', [False, True], ids=['bytes', 'str'])
def test_cifar_batches_become_nhwc(str_keys, tmp_path):
  written = make_cifar(tmp_path / 'raw' / 'cifar-10-batches-py',
                       str_keys=str_keys, protocol=2 if str_keys else 4)
  raw.import_raw(str(tmp_path / 'raw'), str(tmp_path), allow_partial=True)
  train = sources.load_split('cifar10', 'train', data_dir=tmp_path)
  test = sources.load_split('cifar10', 'test', data_dir=tmp_path)
  assert train.images.shape == (10, 32, 32, 3)
  assert test.images.shape == (3, 32, 32, 3)
  # Written by hand, not by the transpose under test: image i has flat
  # channels (10+i, 20+i, 30+i) and the pixel at row 5, column 7 is (1, 2, 3).
  for index, image in enumerate(train.images):
    assert image[0, 0].tolist() == [10 + index, 20 + index, 30 + index]
    assert image[5, 7].tolist() == [1, 2, 3]
    assert image[7, 5].tolist() == [10 + index, 20 + index, 30 + index]
  # Batches in order 1..5, then test_batch.
  np.testing.assert_array_equal(train.labels, written['train'][1])
  np.testing.assert_array_equal(test.labels, written['test'][1])
  assert test.images[2, 0, 0].tolist() == [22, 32, 42]


def test_svhn_labels_10_become_0(tmp_path):
  written = make_svhn(tmp_path / 'raw' / 'svhn')
  raw.import_raw(str(tmp_path / 'raw'), str(tmp_path), allow_partial=True)
  for split, (nhwc, y) in written.items():
    loaded = sources.load_split('svhn_cropped', split, data_dir=tmp_path)
    np.testing.assert_array_equal(loaded.images, nhwc)
    np.testing.assert_array_equal(loaded.labels, np.where(y == 10, 0, y))
  assert sources.load_split(
      'svhn_cropped', 'train', data_dir=tmp_path
  ).labels.tolist() == [0, 1, 9, 0]


def test_store_layout_provenance_and_permissions(tmp_path):
  make_mnist(tmp_path / 'raw' / 'mnist')
  old_umask = os.umask(0o027)
  try:
    raw.import_raw(str(tmp_path / 'raw'), str(tmp_path / 'data'),
                   allow_partial=True)
  finally:
    os.umask(old_umask)
  folder = tmp_path / 'data' / 'simplicity_bias_imported'
  # Atomic writes: the final files only, no temporary ones.
  assert store_files(tmp_path / 'data') == [
      'mnist.source.json', 'mnist_test.npz', 'mnist_train.npz'
  ]
  for file_name in os.listdir(folder):
    assert os.stat(folder / file_name).st_mode & 0o777 == 0o640, file_name
  record = json.loads((folder / 'mnist.source.json').read_text())
  assert record['dataset'] == 'mnist'
  assert record['imported_from'] == str(tmp_path / 'raw' / 'mnist')
  assert record['official_counts'] is False
  train = record['splits']['train']
  assert train['file'] == 'mnist_train.npz'
  assert train['num_examples'] == 5 and train['image_shape'] == [28, 28, 1]
  assert sum(train['label_counts']) == 5
  assert [f['name'] for f in train['source_files']] == [
      'train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'
  ]
  for source in train['source_files'] + record['splits']['test'][
      'source_files'
  ]:
    data = (tmp_path / 'raw' / 'mnist' / source['name']).read_bytes()
    assert source['sha256'] == hashlib.sha256(data).hexdigest()
    assert source['bytes'] == len(data)


def test_imported_split_is_read_before_cache_and_never_from_tfds(tmp_path):
  cached = store.cache_path('mnist', 'train', tmp_path)
  os.makedirs(os.path.dirname(cached))
  np.savez(cached, images=np.zeros((2, 28, 28, 1), np.uint8),
           labels=np.zeros(2, np.int32))
  written = make_mnist(tmp_path / 'raw' / 'mnist')
  raw.import_raw(str(tmp_path / 'raw'), str(tmp_path), allow_partial=True)
  for use_cache in (True, False):
    # No TFDS build in tmp_path: falling through would raise.
    loaded = sources.load_split(
        'mnist', 'train', data_dir=tmp_path, use_cache=use_cache
    )
    np.testing.assert_array_equal(loaded.images[..., 0], written['train'][0])


def test_imported_dataset_has_whole_splits_only(tmp_path):
  make_mnist(tmp_path / 'raw' / 'mnist')
  raw.import_raw(str(tmp_path / 'raw'), str(tmp_path), allow_partial=True)
  with pytest.raises(sources.DatasetNotFoundError) as raised:
    sources.load_split('mnist', 'train[:2]', data_dir=tmp_path)
  assert str(raised.value) == (
      f'MNIST is imported in {tmp_path / "simplicity_bias_imported"} as the'
      " whole splits test, train only, not 'train[:2]': load one of those and"
      ' slice its arrays.'
  )


def test_unreadable_imported_split_is_an_error_naming_it(tmp_path):
  path = store.imported_path('cifar10', 'test', tmp_path)
  os.makedirs(os.path.dirname(path))
  with open(path, 'wb') as file:
    file.write(b'not an npz file')
  with pytest.raises(sources.DatasetNotFoundError) as raised:
    sources.load_split('cifar10', 'test', data_dir=tmp_path)
  assert path in str(raised.value) and '--from_raw' in str(raised.value)


def test_official_counts_are_required_unless_allow_partial(tmp_path):
  make_mnist(tmp_path / 'raw' / 'mnist')
  with pytest.raises(raw.RawDataError) as raised:
    raw.import_raw(str(tmp_path / 'raw'), str(tmp_path))
  message = str(raised.value)
  assert 'mnist train has 5 examples, not the official 60,000' in message
  assert str(tmp_path / 'raw' / 'mnist') in message
  assert '--allow_partial' in message
  assert store_files(tmp_path) == []


def test_requested_dataset_must_be_present(tmp_path):
  make_mnist(tmp_path / 'raw' / 'mnist')
  with pytest.raises(raw.RawDataError, match='cifar-10-batches-py is missing'):
    raw.import_raw(str(tmp_path / 'raw'), str(tmp_path), names=['cifar10'],
                   allow_partial=True)
  imported = raw.import_raw(str(tmp_path / 'raw'), str(tmp_path),
                            names=['mnist'], allow_partial=True)
  assert list(imported) == ['mnist']


def _truncate(path, num_bytes):
  data = path.read_bytes()
  path.write_bytes(data[:-num_bytes])


def _rewrite_batch(path, change):
  with open(path, 'rb') as file:
    batch = pickle.load(file, encoding='bytes')
  change(batch)
  with open(path, 'wb') as file:
    pickle.dump(batch, file)


def _forbidden_global(path):
  with open(path, 'wb') as file:
    pickle.dump({b'data': np.zeros((1, 3072), np.uint8),
                 b'labels': [0], b'extra': print}, file)


BAD_FILES = {
    # case: (file that must be named, how to break it)
    'wrong magic': (
        'mnist/t10k-labels-idx1-ubyte.gz',
        lambda p: write_idx(p, np.zeros(3, np.uint8), magic=0x0803, gz=True),
    ),
    'truncated idx': (
        'mnist/train-images-idx3-ubyte',
        lambda p: _truncate(p, 10),
    ),
    'truncated gzip': (
        'mnist/train-labels-idx1-ubyte.gz',
        lambda p: _truncate(p, 4),
    ),
    'label out of range': (
        'mnist/t10k-labels-idx1-ubyte.gz',
        lambda p: write_idx(p, np.array([0, 10, 1], np.uint8), gz=True),
    ),
    'count mismatch': (
        'mnist/t10k-labels-idx1-ubyte.gz',
        lambda p: write_idx(p, np.zeros(2, np.uint8), gz=True),
    ),
    'not 28x28': (
        'mnist/t10k-images-idx3-ubyte',
        lambda p: write_idx(p, np.zeros((3, 27, 28), np.uint8)),
    ),
    'missing idx file': (
        'mnist/t10k-labels-idx1-ubyte',  # named as '...-ubyte[.gz]'
        lambda p: os.remove(f'{p}.gz'),
    ),
    'missing batch': ('cifar-10-batches-py/data_batch_3', os.remove),
    'missing key': (
        'cifar-10-batches-py/test_batch',
        lambda p: _rewrite_batch(p, lambda b: b.pop(b'labels')),
    ),
    'row not 3072 bytes': (
        'cifar-10-batches-py/data_batch_2',
        lambda p: _rewrite_batch(
            p, lambda b: b.update({b'data': b[b'data'][:, :3000]})),
    ),
    'data not uint8': (
        'cifar-10-batches-py/data_batch_1',
        lambda p: _rewrite_batch(
            p, lambda b: b.update({b'data': b[b'data'].astype(np.int64)})),
    ),
    'cifar count mismatch': (
        'cifar-10-batches-py/data_batch_5',
        lambda p: _rewrite_batch(p, lambda b: b[b'labels'].append(3)),
    ),
    'cifar label out of range': (
        'cifar-10-batches-py/test_batch',
        lambda p: _rewrite_batch(
            p, lambda b: b.update({b'labels': [0, -1, 2]})),
    ),
    'truncated pickle': (
        'cifar-10-batches-py/data_batch_4', lambda p: _truncate(p, 100),
    ),
    'pickle naming code': ('cifar-10-batches-py/test_batch', _forbidden_global),
    'svhn label 0': (
        'svhn/test_32x32.mat',
        lambda p: scipy.io.savemat(p, {
            'X': np.zeros((32, 32, 3, 2), np.uint8),
            'y': np.array([[0], [1]], np.uint8)}),
    ),
    'svhn missing y': (
        'svhn/train_32x32.mat',
        lambda p: scipy.io.savemat(
            p, {'X': np.zeros((32, 32, 3, 2), np.uint8)}),
    ),
}


@pytest.mark.parametrize('case', sorted(BAD_FILES))
def test_bad_file_is_named_and_nothing_is_written(case, tmp_path):
  raw_dir = tmp_path / 'raw'
  make_mnist(raw_dir / 'mnist', gz=True)
  for file_name in ('train-images-idx3-ubyte', 't10k-images-idx3-ubyte'):
    # Images both unpacked and gzipped, as torchvision leaves them: the
    # unpacked file is the one read, so the damage below goes there.
    packed = (raw_dir / 'mnist' / (file_name + '.gz')).read_bytes()
    (raw_dir / 'mnist' / file_name).write_bytes(gzip.decompress(packed))
  make_cifar(raw_dir / 'cifar-10-batches-py')
  make_svhn(raw_dir / 'svhn')
  bad_file, damage = BAD_FILES[case]
  damage(raw_dir / bad_file)
  with pytest.raises(raw.RawDataError) as raised:
    raw.import_raw(str(raw_dir), str(tmp_path / 'data'), allow_partial=True)
  assert str(raw_dir / bad_file) in str(raised.value)
  assert store_files(tmp_path / 'data') == []


# ------------------------------------------------------------ launch script


def test_script_imports_what_it_finds(tmp_path):
  raw_dir = tmp_path / 'raw'
  mnist = make_mnist(raw_dir / 'mnist', seed=1, gz=True)
  fashion = make_mnist(raw_dir / 'fashion_mnist', seed=2, gz=False)
  cifar = make_cifar(raw_dir / 'cifar-10-batches-py', str_keys=True)
  proc = run_launch('build_datasets.py', f'--from_raw={raw_dir}',
                    f'--data_dir={tmp_path / "data"}', '--allow_partial',
                    timeout=120)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert 'mnist: imported train 5, test 3 from' in proc.stdout
  assert 'fashion_mnist: imported train 5, test 3 from' in proc.stdout
  assert 'cifar10: imported train 10, test 3 from' in proc.stdout
  assert f'svhn_cropped: skipped, {raw_dir / "svhn"} not found' in proc.stdout
  assert 'warning: mnist train has 5 examples, not the official 60,000' in (
      proc.stderr)
  data_dir = tmp_path / 'data'
  for name, written in (('mnist', mnist), ('fashion_mnist', fashion)):
    for split, (images, labels) in written.items():
      loaded = sources.load_split(name, split, data_dir=data_dir)
      np.testing.assert_array_equal(loaded.images[..., 0], images)
      np.testing.assert_array_equal(loaded.labels, labels)
  loaded = sources.load_split('cifar10', 'train', data_dir=data_dir)
  np.testing.assert_array_equal(
      loaded.images, cifar['train'][0].transpose(0, 2, 3, 1))
  np.testing.assert_array_equal(loaded.labels, cifar['train'][1])


def _single_error_line(proc):
  assert proc.returncode == 2, proc.stderr[-2000:]
  assert 'Traceback' not in proc.stderr
  lines = proc.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith('error: '), proc.stderr
  return lines[0]


def test_script_bad_file_exits_2_with_one_error_line(tmp_path):
  raw_dir = tmp_path / 'raw'
  make_cifar(raw_dir / 'cifar-10-batches-py')
  _rewrite_batch(raw_dir / 'cifar-10-batches-py' / 'test_batch',
                 lambda b: b.pop(b'data'))
  proc = run_launch('build_datasets.py', f'--from_raw={raw_dir}',
                    f'--data_dir={tmp_path / "data"}', '--allow_partial',
                    timeout=120)
  line = _single_error_line(proc)
  assert str(raw_dir / 'cifar-10-batches-py' / 'test_batch') in line
  assert "no 'data' entry" in line
  assert not (tmp_path / 'data').exists()


def test_script_with_nothing_to_import_exits_2(tmp_path):
  (tmp_path / 'raw' / 'unrelated').mkdir(parents=True)
  proc = run_launch('build_datasets.py', f'--from_raw={tmp_path / "raw"}',
                    f'--data_dir={tmp_path / "data"}', timeout=120)
  line = _single_error_line(proc)
  assert line == (
      f'error: {tmp_path / "raw"} holds no raw dataset: expected mnist/ (idx'
      ' files), fashion_mnist/ (idx files), cifar-10-batches-py/ (python'
      ' pickle batches) or svhn/ (.mat files).'
  )


# ----------------------------------------------------------------- sources


def test_importing_sources_does_not_import_tfds():
  proc = subprocess.run(
      [sys.executable, '-c', 'import simplicity_bias.data.sources, sys; '
       "print('tensorflow_datasets' in sys.modules)"],
      capture_output=True, text=True, timeout=120, cwd=REPO, check=True,
  )
  assert proc.stdout.strip() == 'False'


@pytest.mark.parametrize('name, folder, formats', [
    ('mnist', 'mnist', 'idx files'),
    ('cifar10', 'cifar-10-batches-py', 'python pickle batches'),
])
def test_missing_dataset_error_names_the_raw_import(
    name, folder, formats, tmp_path
):
  with pytest.raises(sources.DatasetNotFoundError) as raised:
    sources.load_split(name, 'train', data_dir=tmp_path)
  message = str(raised.value)
  assert f'not prepared in {tmp_path}:' in message
  assert (
      f'or, with the raw {formats} in RAW/{folder}/, run `python'
      f' launch/build_datasets.py --from_raw=RAW --data_dir={tmp_path}`.'
  ) in message
  assert message.count('. ') == 0 and message.endswith('.')
