"""Tests for the image data layer (sources.py, images.py), without network.

The real loading code of `sources.py` runs in three ways: under
`tfds.testing.mock_data` (random records from each dataset's real feature
spec), against a tiny MNIST prepared on disk here as real array_record files
(the real MNIST builder with its downloads replaced by generated PNGs; no
TensorFlow needed), and against an empty directory for the error message.
MNIST-CIFAR is built from small generated arrays whose every image is unique,
so each stacked block can be traced back to the example it came from.

Every test passes a temporary data_dir: the cache is written beside the data,
and mock data must never land in a real ~/tensorflow_datasets cache.
"""

import io
import os

import numpy as np
from PIL import Image
import pytest
from sklearn import datasets as sklearn_datasets
import tensorflow_datasets as tfds
from tensorflow_datasets.image_classification import mnist as tfds_mnist

from simplicity_bias.data import digits
from simplicity_bias.data import images
from simplicity_bias.data import sources
from simplicity_bias.data import store

EXPECTED_IMAGE_SHAPES = {
    'mnist': (28, 28, 1),
    'fashion_mnist': (28, 28, 1),
    'cifar10': (32, 32, 3),
    'svhn_cropped': (32, 32, 3),
}


def mock_tfds(num_examples):
  # USE_CODE: features come from the registered builders, no metadata files.
  return tfds.testing.mock_data(
      num_examples=num_examples, policy=tfds.testing.MockPolicy.USE_CODE
  )


def forbid_tfds(monkeypatch):
  def fail(*args, **kwargs):
    raise AssertionError(f'tfds.data_source was called: {args} {kwargs}')

  monkeypatch.setattr(tfds, 'data_source', fail)


# ---------------------------------------------------------------- tfds sources


@pytest.mark.parametrize('name', sorted(EXPECTED_IMAGE_SHAPES))
def test_mock_split_is_stacked_in_record_order(name, tmp_path):
  with mock_tfds(num_examples=5):
    split = sources.load_split(name, 'train', data_dir=tmp_path)
    records = tfds.data_source(name, split='train', data_dir=tmp_path)
    expected_images = np.stack([records[i]['image'] for i in range(5)])
    expected_labels = np.array([records[i]['label'] for i in range(5)])
  assert split.images.shape == (5,) + EXPECTED_IMAGE_SHAPES[name]
  assert split.images.dtype == np.uint8
  assert split.labels.shape == (5,) and split.labels.dtype == np.int32
  np.testing.assert_array_equal(split.images, expected_images)
  np.testing.assert_array_equal(split.labels, expected_labels)
  assert split.is_mnist == (name == 'mnist')
  assert (split.name, split.split, split.num_examples) == (name, 'train', 5)


def test_cache_is_written_then_read_without_tfds(tmp_path, monkeypatch):
  with mock_tfds(num_examples=4):
    first = sources.load_split('cifar10', 'test', data_dir=tmp_path)
  path = store.cache_path('cifar10', 'test', tmp_path)
  assert path == str(tmp_path / 'simplicity_bias_cache' / 'cifar10_test.npz')
  assert os.path.exists(path)
  # Atomic write: only the final file is left, no temporary one.
  assert os.listdir(os.path.dirname(path)) == ['cifar10_test.npz']

  forbid_tfds(monkeypatch)
  second = sources.load_split('cifar10', 'test', data_dir=tmp_path)
  np.testing.assert_array_equal(second.images, first.images)
  np.testing.assert_array_equal(second.labels, first.labels)
  assert second.images.dtype == np.uint8 and second.labels.dtype == np.int32
  # Proves the patch is live: without the cache, tfds would be called (its
  # failure then surfaces as the dataset missing from tmp_path).
  with pytest.raises(sources.DatasetNotFoundError) as raised:
    sources.load_split('cifar10', 'test', data_dir=tmp_path, use_cache=False)
  assert 'tfds.data_source was called' in str(raised.value.__cause__)


def test_unreadable_cache_is_rebuilt(tmp_path):
  path = store.cache_path('mnist', 'train', tmp_path)
  os.makedirs(os.path.dirname(path))
  with open(path, 'wb') as corrupt:
    corrupt.write(b'not an npz file')
  with mock_tfds(num_examples=3):
    split = sources.load_split('mnist', 'train', data_dir=tmp_path)
  assert split.images.shape == (3, 28, 28, 1)
  with np.load(path) as rebuilt:
    np.testing.assert_array_equal(rebuilt['images'], split.images)


def test_sliced_splits_get_distinct_cache_files():
  paths = {
      store.cache_path('mnist', split, '/data')
      for split in ('train', 'train[:10%]', 'train[10%:]', 'test')
  }
  assert len(paths) == 4
  assert all(os.path.dirname(p) == '/data/simplicity_bias_cache' for p in paths)


def _png(image):
  buffer = io.BytesIO()
  Image.fromarray(image[..., 0]).save(buffer, format='PNG')
  return buffer.getvalue()


def test_real_array_record_files_are_read(tmp_path):
  """A tiny MNIST written by the real builder, read back with no mock."""
  rng = np.random.default_rng(7)
  generated = {
      'train': (rng.integers(0, 256, (9, 28, 28, 1), np.uint8),
                rng.integers(0, 10, 9)),
      'test': (rng.integers(0, 256, (4, 28, 28, 1), np.uint8),
               rng.integers(0, 10, 4)),
  }

  class TinyMnist(tfds_mnist.MNIST, skip_registration=True):
    name = 'mnist'

    def _split_generators(self, dl_manager):
      del dl_manager
      return {split: self._generate(split) for split in generated}

    def _generate(self, split):
      for index, (image, label) in enumerate(zip(*generated[split])):
        # PNG bytes: encoding arrays would need TensorFlow.
        yield index, {'image': _png(image), 'label': int(label)}

  builder = TinyMnist(data_dir=tmp_path, file_format='array_record')
  builder.download_and_prepare()

  loaded = sources.load_split('mnist', 'train', data_dir=tmp_path)
  images_in, labels_in = generated['train']
  assert loaded.images.shape == images_in.shape
  # tfds shuffles records when writing, so match each record to its source.
  matches = (loaded.images[:, None] == images_in[None]).all(axis=(2, 3, 4))
  source_index = matches.argmax(axis=1)
  assert matches.sum(axis=1).tolist() == [1] * 9
  assert sorted(source_index.tolist()) == list(range(9))
  np.testing.assert_array_equal(loaded.labels, labels_in[source_index])
  assert os.path.exists(store.cache_path('mnist', 'train', tmp_path))


def test_missing_dataset_error_names_dataset_dir_and_command(tmp_path):
  with pytest.raises(sources.DatasetNotFoundError) as raised:
    sources.load_split('mnist', 'train', data_dir=tmp_path)
  message = str(raised.value)
  assert isinstance(raised.value, ValueError)
  assert message.startswith(f'MNIST is not prepared in {tmp_path}:')
  assert (
      'python launch/build_datasets.py --datasets=mnist --data_dir=DIR'
      in message
  )
  assert 'pip install -e .[build-data]' in message
  assert f'copy DIR/mnist to {tmp_path}' in message
  assert 'TFDS_DATA_DIR' in message
  # One sentence: a single full stop, at the end.
  assert message.count('. ') == 0 and message.endswith('.')
  assert '\n' not in message
  assert not os.path.exists(tmp_path / 'simplicity_bias_cache')


def test_missing_dataset_error_uses_tfds_data_dir(tmp_path, monkeypatch):
  monkeypatch.setenv('TFDS_DATA_DIR', str(tmp_path))
  assert store.resolve_data_dir() == str(tmp_path)
  with pytest.raises(sources.DatasetNotFoundError, match='CIFAR-10') as raised:
    sources.load_split('cifar10', 'test')
  assert f'not prepared in {tmp_path}:' in str(raised.value)
  assert '--datasets=cifar10' in str(raised.value)


def test_default_data_dir_is_tfds_default(monkeypatch):
  monkeypatch.delenv('TFDS_DATA_DIR', raising=False)
  assert store.resolve_data_dir() == os.path.expanduser(
      '~/tensorflow_datasets'
  )
  assert store.resolve_data_dir('/explicit') == '/explicit'


def test_dataset_without_array_record_files_is_reported(tmp_path):
  version_dir = tmp_path / 'svhn_cropped' / '3.1.0'
  version_dir.mkdir(parents=True)
  (version_dir / 'dataset_info.json').write_text('{}')
  with pytest.raises(
      sources.DatasetNotFoundError, match='has no array_record files'
  ) as raised:
    sources.load_split('svhn_cropped', 'train', data_dir=tmp_path)
  assert str(tmp_path / 'svhn_cropped') in str(raised.value)


def test_unknown_source_is_rejected(tmp_path):
  with pytest.raises(ValueError, match='sklearn_digits'):
    sources.load_split('imagenet', 'train', data_dir=tmp_path)


# ------------------------------------------------------------ sklearn digits


def test_sklearn_digits_look_like_mnist_but_say_they_are_not():
  train = sources.load_split('sklearn_digits', 'train')
  test = digits.load_sklearn_digits('test')
  all_labels = sklearn_datasets.load_digits().target
  assert train.num_examples + test.num_examples == len(all_labels)
  assert train.num_examples == int(0.8 * len(all_labels))
  # Together the splits hold every digit exactly once, class by class.
  np.testing.assert_array_equal(
      np.bincount(train.labels, minlength=10)
      + np.bincount(test.labels, minlength=10),
      np.bincount(all_labels, minlength=10),
  )
  for split in (train, test):
    assert split.images.shape[1:] == (28, 28, 1)
    assert split.images.dtype == np.uint8
    assert split.images.min() == 0 and split.images.max() == 255
    assert split.labels.dtype == np.int32
    assert split.is_mnist is False
    assert 'not MNIST' in split.note
    # MNIST layout: the digit stays inside the central 20x20 box.
    assert not split.images[:, :4].any() and not split.images[:, -4:].any()
    assert not split.images[:, :, :4].any()
    assert not split.images[:, :, -4:].any()
  # Deterministic split.
  np.testing.assert_array_equal(
      digits.load_sklearn_digits('train').images, train.images
  )
  with pytest.raises(ValueError, match='validation'):
    digits.load_sklearn_digits('validation')


def test_sklearn_digits_upsampling_keeps_values_and_position():
  bitmaps = np.zeros((2, 8, 8))
  bitmaps[0] = 16  # a full block must fill the 20x20 box with 255
  bitmaps[1, :4] = 16  # top half only
  upsampled = digits.sklearn_digits_as_mnist(bitmaps)
  assert upsampled.shape == (2, 28, 28, 1)
  assert (upsampled[0, 4:24, 4:24] == 255).all()
  assert upsampled[1, 4:12, 4:24].min() == 255  # top of the box
  assert upsampled[1, 16:24, 4:24].max() == 0  # bottom of the box


# --------------------------------------------------------------- MNIST-CIFAR


def _generated_split(name, class_counts, image_shape, seed, is_mnist=True):
  """uint8 images, unique with overwhelming probability, in shuffled order."""
  rng = np.random.default_rng(seed)
  labels = np.repeat(np.arange(10), class_counts).astype(np.int32)
  labels = rng.permutation(labels)
  pixels = rng.integers(0, 256, (len(labels),) + image_shape, np.uint8)
  note = '' if is_mnist else 'digits from a stand-in, not MNIST'
  return sources.ImageSplit(
      pixels, labels, name, 'train', is_mnist=is_mnist, note=note
  )


# Pools per class: for variant A (digits 0/1, CIFAR 1/9) the smallest train
# pool is digit 1 (9 examples); for the test split it is CIFAR class 9 (4).
MNIST_TRAIN_COUNTS = [12, 9, 5, 5, 7, 5, 5, 5, 5, 5]
CIFAR_TRAIN_COUNTS = [8, 10, 5, 5, 5, 5, 5, 5, 6, 11]
MNIST_TEST_COUNTS = [6, 7, 3, 3, 5, 3, 3, 3, 3, 3]
CIFAR_TEST_COUNTS = [5, 6, 3, 3, 3, 3, 3, 3, 5, 4]


@pytest.fixture(name='raw_splits')
def fixture_raw_splits():
  return dict(
      mnist_train=_generated_split('mnist', MNIST_TRAIN_COUNTS, (28, 28, 1), 1),
      mnist_test=_generated_split('mnist', MNIST_TEST_COUNTS, (28, 28, 1), 2),
      cifar_train=_generated_split('cifar10', CIFAR_TRAIN_COUNTS, (32, 32, 3),
                                   3),
      cifar_test=_generated_split('cifar10', CIFAR_TEST_COUNTS, (32, 32, 3), 4),
  )


def _source_indices(blocks, source_blocks):
  """For each block, the one source example it equals (asserts uniqueness)."""
  matches = (blocks[:, None] == source_blocks[None]).all(axis=(2, 3, 4))
  assert (matches.sum(axis=1) == 1).all(), 'block not found exactly once'
  return matches.argmax(axis=1)


def _padded_digits(digits):
  """Independent reference: [0, 1], 2 px zero border, three equal channels."""
  padded = np.zeros((len(digits), 32, 32, 3), np.float32)
  padded[:, 2:30, 2:30, :] = digits.astype(np.float32) / 255
  return padded


@pytest.mark.parametrize('variant', ['A', 'B', 'C'])
def test_mnist_cifar_layout_and_pairing(variant, raw_splits):
  dataset = images.build_mnist_cifar(**raw_splits, variant=variant, seed=0)
  digit_classes = images.VARIANTS[variant].digit_classes
  cifar_classes = images.VARIANTS[variant].cifar_classes
  for x, y, mnist_split, cifar_split in (
      (dataset.x_train, dataset.y_train,
       raw_splits['mnist_train'], raw_splits['cifar_train']),
      (dataset.x_test, dataset.y_test,
       raw_splits['mnist_test'], raw_splits['cifar_test']),
  ):
    assert x.shape[1:] == (64, 32, 3) and x.dtype == np.float32
    assert 0 <= x.min() and x.max() <= 1
    assert (dataset.simple_block, dataset.complex_block) == ((0, 32), (32, 64))
    top, bottom = x[:, 0:32], x[:, 32:64]
    digit_index = _source_indices(top, _padded_digits(mnist_split.images))
    cifar_index = _source_indices(
        bottom, cifar_split.images.astype(np.float32) / 255
    )
    # Label k pairs digit class k with CIFAR class k, each source used once.
    np.testing.assert_array_equal(
        mnist_split.labels[digit_index], np.take(digit_classes, y)
    )
    np.testing.assert_array_equal(
        cifar_split.labels[cifar_index], np.take(cifar_classes, y)
    )
    assert len(set(digit_index)) == len(y) == len(set(cifar_index))
    # Balanced, truncated to the smallest of the four pools.
    pools = [np.sum(mnist_split.labels == c) for c in digit_classes] + [
        np.sum(cifar_split.labels == c) for c in cifar_classes
    ]
    assert np.bincount(y, minlength=2).tolist() == [min(pools)] * 2
    # Shuffled: the labels are not sorted into two runs.
    assert np.any(np.diff(y) < 0)


def test_variants_match_the_paper():
  # Literal values, not read from VARIANTS: label 0 = first digit + first
  # CIFAR class. A: 0/1 with automobile/truck, B: 1/4 with automobile/truck,
  # C: 0/1 with airplane/ship.
  expected = {
      'A': ((0, 1), (1, 9)),  # automobile = 1, truck = 9
      'B': ((1, 4), (1, 9)),
      'C': ((0, 1), (0, 8)),  # airplane = 0, ship = 8
  }
  for name, (digit_classes, cifar_classes) in expected.items():
    assert images.VARIANTS[name].digit_classes == digit_classes
    assert images.VARIANTS[name].cifar_classes == cifar_classes
  class_ids = {name: i for i, name in enumerate(images.CIFAR10_CLASS_NAMES)}
  assert [class_ids[n] for n in ('airplane', 'automobile', 'ship', 'truck')
         ] == [0, 1, 8, 9]


def test_variant_a_sizes(raw_splits):
  dataset = images.build_mnist_cifar(**raw_splits, variant='A')
  assert len(dataset.x_train) == 18 and len(dataset.y_train) == 18
  assert len(dataset.x_test) == 8 and len(dataset.y_test) == 8
  assert dataset.y_train.dtype == np.int32
  assert dataset.source_note == (
      'top block: MNIST digits; bottom block: cifar10 images'
  )


def test_caps_keep_classes_balanced(raw_splits):
  dataset = images.build_mnist_cifar(
      **raw_splits, variant='A', num_train=7, num_test=4
  )
  assert np.bincount(dataset.y_train).tolist() == [3, 3]
  assert np.bincount(dataset.y_test).tolist() == [2, 2]


def test_pairing_is_seeded(raw_splits):
  first = images.build_mnist_cifar(**raw_splits, seed=3)
  again = images.build_mnist_cifar(**raw_splits, seed=np.random.default_rng(3))
  other = images.build_mnist_cifar(**raw_splits, seed=4)
  np.testing.assert_array_equal(first.x_train, again.x_train)
  np.testing.assert_array_equal(first.y_test, again.y_test)
  assert not np.array_equal(first.x_train, other.x_train)


def test_pair_within_classes_rejects_an_empty_pool():
  with pytest.raises(ValueError, match='pool is empty'):
    images.pair_within_classes(
        np.array([0, 0, 1]), np.array([1, 1, 1]), (0, 1), (1, 9), rng=0
    )


def test_stand_in_digits_are_named_in_source_note(raw_splits):
  stand_in = dict(raw_splits)
  for key in ('mnist_train', 'mnist_test'):
    stand_in[key] = _generated_split(
        'sklearn_digits', MNIST_TRAIN_COUNTS, (28, 28, 1), 5, is_mnist=False
    )
  dataset = images.build_mnist_cifar(**stand_in)
  assert 'not MNIST' in dataset.source_note
  assert 'MNIST digits' not in dataset.source_note


@pytest.mark.parametrize('block', ['simple', 'complex'])
def test_randomized_test_set_permutes_only_its_block(block, raw_splits):
  """The evaluators' randomization (data/randomize.py) on MNIST-CIFAR test images."""
  import jax
  import jax.numpy as jnp
  from simplicity_bias.data import randomize
  from simplicity_bias.data.registry import DataInfo
  dataset = images.build_mnist_cifar(**raw_splits, variant='A', seed=0)
  original_x = dataset.x_test.copy()
  info = DataInfo('mnist_cifar', 'image', simple=(0, 32), complex=(32, 64))
  perm = randomize.permutation(jax.random.key(1), len(original_x))
  randomized = np.asarray(randomize.randomize(jnp.asarray(original_x), info, block, perm))

  moved, kept = (
      ((0, 32), (32, 64)) if block == 'simple' else ((32, 64), (0, 32))
  )
  moved_rows, kept_rows = slice(*moved), slice(*kept)
  np.testing.assert_array_equal(
      randomized[:, kept_rows], original_x[:, kept_rows]
  )
  # The moved block is one shared row permutation of the original blocks.
  source = _source_indices(
      randomized[:, moved_rows], original_x[:, moved_rows]
  )
  assert sorted(source.tolist()) == list(range(len(original_x)))
  assert np.any(source != np.arange(len(original_x)))


def test_load_mnist_cifar_end_to_end_under_mock(tmp_path):
  # The mock yields 120 random CIFAR records (the same for train and test);
  # the rarest class of variant A among them has 6 examples.
  with mock_tfds(num_examples=120):
    dataset = images.load_mnist_cifar(
        'A', digit_source='sklearn_digits', data_dir=tmp_path, num_train=10
    )
  assert dataset.x_train.shape == (10, 64, 32, 3)
  assert np.bincount(dataset.y_train).tolist() == [5, 5]
  assert dataset.x_test.shape == (12, 64, 32, 3)
  assert np.bincount(dataset.y_test).tolist() == [6, 6]
  assert "scikit-learn's 8x8 set" in dataset.source_note
  assert 'not MNIST' in dataset.source_note
  assert os.path.exists(store.cache_path('cifar10', 'train', tmp_path))
