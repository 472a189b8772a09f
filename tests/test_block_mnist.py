"""Tests for BlockMNIST (block_mnist.py), built from scikit-learn's digits.

MNIST itself is never loaded. Every digit block is traced back to the source
image it came from (the uint8 -> [0, 1] scaling is exact in reverse), which
checks the stacking, the label mapping and the placement at once. The
simplified generator is checked instance by instance against its definition,
and its noise statistically.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simplicity_bias.data import block_mnist as B
from simplicity_bias.data import digits as digits_lib
from simplicity_bias.data import simplified_block_mnist as S
from simplicity_bias.data import sources


@pytest.fixture(scope='module')
def digits():
  return (
      digits_lib.load_sklearn_digits('train'), digits_lib.load_sklearn_digits('test')
  )


@pytest.fixture(scope='module')
def dataset(digits):
  return B.build_block_mnist(*digits, seed=0)


def source_labels(split):
  """Source image bytes -> its class, to find where a digit block came from."""
  pairs = zip(split.images, split.labels)
  return {image.tobytes(): int(label) for image, label in pairs}


def traced_classes(x, digit_on_top, split):
  """The source class of each image's digit block (KeyError if none matches)."""
  lookup = source_labels(split)
  digit_blocks, _ = B.split_blocks(x, digit_on_top)
  as_uint8 = np.rint(digit_blocks * 255).astype(np.uint8)
  assert np.array_equal(as_uint8 / np.float32(255), digit_blocks)
  return np.array([lookup[block.tobytes()] for block in as_uint8])


# ------------------------------------------------------------------ null patch


def test_null_patch_is_a_square_outline_with_an_x():
  patch = B.null_patch()
  assert patch.shape == (28, 28) and patch.dtype == np.float32
  assert patch.min() == 0.0 and patch.max() == 1.0
  # Drawn in MNIST's 20x20 box, rows and columns 4..23, with an empty margin.
  drawn = np.flatnonzero(patch.any(axis=1))
  assert (drawn[0], drawn[-1]) == (4, 23)
  np.testing.assert_array_equal(np.flatnonzero(patch.any(axis=0)), drawn)
  # Symmetric under transposition and both flips, as a square with an X is.
  for image in (patch.T, patch[::-1], patch[:, ::-1]):
    np.testing.assert_array_equal(image, patch)
  # The outline: full-intensity edges, 2 px wide (rounded corners).
  assert (patch[4:6, 5:23] == 1).all() and (patch[4:6, [4, 23]] > 0.5).all()
  assert (patch[6, 8:20] < 0.5).all()
  # The X: bright diagonals, dark between them and the outline.
  diagonal = np.arange(5, 23)
  assert (patch[diagonal, diagonal] == 1).all()
  assert (patch[diagonal, 27 - diagonal] == 1).all()
  assert patch[14, 7] == 0 and patch[7, 14] == 0 and patch[9, 14] == 0
  # On the 8-bit grid of uint8 digits.
  np.testing.assert_array_equal(np.rint(patch * 255) / np.float32(255), patch)


def test_null_patch_options():
  hard = B.null_patch(antialias=False)
  assert set(np.unique(hard)) == {0.0, 1.0}
  soft = B.null_patch()
  assert ((soft > 0) & (soft < 1)).any()
  # A wider stroke covers more, a larger inset leaves a larger margin.
  assert (B.null_patch(stroke_width=3.0) > 0).sum() > (soft > 0).sum()
  assert np.flatnonzero(B.null_patch(inset=6).any(axis=1))[0] == 6
  assert B.null_patch(size=32).shape == (32, 32)
  with pytest.raises(ValueError):
    B.null_patch(size=8, inset=3, stroke_width=2.0)


# -------------------------------------------------------------------- datasets


def splits(dataset):
  """(x, y, digit_on_top) of the train and the test split."""
  return (
      (dataset.x_train, dataset.y_train, dataset.digit_on_top_train),
      (dataset.x_test, dataset.y_test, dataset.digit_on_top_test),
  )


def test_shapes_dtypes_and_range(dataset):
  for x, y, on_top in splits(dataset):
    assert x.shape[1:] == (56, 28, 1) and x.dtype == np.float32
    assert y.shape == (len(x),) and y.dtype == np.int32
    assert on_top.shape == (len(x),) and on_top.dtype == bool
    assert x.min() >= 0.0 and x.max() <= 1.0
  # sklearn's digits have about 180 per class, 80% of them in train.
  assert len(dataset.x_train) > 250 and len(dataset.x_test) > 50
  assert dataset.classes == (0, 1) and dataset.num_classes == 2
  assert (dataset.placement, dataset.null) == ('random', 'patch')


def test_null_block_is_the_same_patch_in_every_image(dataset):
  np.testing.assert_array_equal(dataset.null_patch, B.null_patch())
  for x, _, on_top in splits(dataset):
    _, null_blocks = B.split_blocks(x[..., 0], on_top)
    assert (null_blocks == dataset.null_patch).all()


def test_digit_block_is_a_scaled_source_digit_of_its_class(dataset, digits):
  for (x, y, on_top), split in zip(splits(dataset), digits):
    classes = traced_classes(x[..., 0], on_top, split)
    np.testing.assert_array_equal(classes, np.asarray(dataset.classes)[y])
  # Each source digit is used at most once.
  blocks, _ = B.split_blocks(dataset.x_train, dataset.digit_on_top_train)
  assert len({block.tobytes() for block in blocks}) == len(blocks)


def test_labels_are_balanced_and_shuffled(dataset):
  for y in (dataset.y_train, dataset.y_test):
    counts = np.bincount(y)
    assert len(counts) == 2 and counts[0] == counts[1]
  # Not sorted by label.
  assert (np.diff(dataset.y_train) != 0).sum() > len(dataset.y_train) // 4


def test_random_placement_is_a_fair_coin_and_fixed_ones_are_fixed(digits):
  data = B.build_block_mnist(*digits, seed=1)
  on_top = np.concatenate([data.digit_on_top_train, data.digit_on_top_test])
  # ~350 fair coins: the share is within 0.5 +- 0.1 (3.7 standard deviations).
  assert abs(on_top.mean() - 0.5) < 0.1
  # Placement is independent of the label.
  for label in (0, 1):
    share = data.digit_on_top_train[data.y_train == label].mean()
    assert abs(share - 0.5) < 0.15
  small = {'num_train': 40, 'num_test': 20}
  top = B.build_block_mnist(*digits, placement='top', **small)
  assert top.digit_on_top_train.all() and top.digit_on_top_test.all()
  assert (top.x_train[:, 28:, :, 0] == top.null_patch).all()
  bottom = B.build_block_mnist(*digits, placement='bottom', **small)
  assert not bottom.digit_on_top_train.any()
  assert not bottom.digit_on_top_test.any()
  assert (bottom.x_train[:, :28, :, 0] == bottom.null_patch).all()


def test_zero_null_block(digits):
  data = B.build_block_mnist(*digits, null='zero', num_train=40, num_test=20)
  assert (data.null_patch == 0).all()
  _, null_blocks = B.split_blocks(data.x_train, data.digit_on_top_train)
  assert (null_blocks == 0).all()
  digit_blocks, _ = B.split_blocks(data.x_train, data.digit_on_top_train)
  assert (digit_blocks.reshape(40, -1).max(1) > 0).all()
  assert 'all zero' in data.source_note


@pytest.mark.parametrize('classes', [(3, 7), (7, 3), (1, 5, 8)])
def test_class_tuples_are_relabelled_in_order(digits, classes):
  data = B.build_block_mnist(
      *digits, classes=classes, num_train=60, num_test=30
  )
  assert data.classes == classes
  per_class = [60 // len(classes)] * len(classes)
  np.testing.assert_array_equal(np.bincount(data.y_train), per_class)
  found = traced_classes(
      data.x_train[..., 0], data.digit_on_top_train, digits[0]
  )
  np.testing.assert_array_equal(found, np.asarray(classes)[data.y_train])


def test_all_ten_classes_keep_their_labels(digits):
  data = B.build_block_mnist(*digits, classes='all')
  assert data.classes == tuple(range(10))
  counts = np.bincount(data.y_train, minlength=10)
  assert len(counts) == 10 and (counts == counts[0]).all() and counts[0] > 100
  found = traced_classes(data.x_test[..., 0], data.digit_on_top_test, digits[1])
  np.testing.assert_array_equal(found, data.y_test)


def test_caps_are_balanced(digits):
  data = B.build_block_mnist(*digits, num_train=21, num_test=7)
  assert len(data.y_train) == 20 and len(data.y_test) == 6
  np.testing.assert_array_equal(np.bincount(data.y_train), [10, 10])


def test_region_masks_follow_digit_on_top(dataset):
  for split in ('train', 'test'):
    on_top = getattr(dataset, f'digit_on_top_{split}')
    x = getattr(dataset, f'x_{split}')[..., 0]
    digit, null = dataset.digit_region(split), dataset.null_region(split)
    assert digit.shape == (len(x), 56, 28) and digit.dtype == bool
    np.testing.assert_array_equal(null, ~digit)
    np.testing.assert_array_equal(digit[:, :28].all((1, 2)), on_top)
    np.testing.assert_array_equal(digit[:, 28:].all((1, 2)), ~on_top)
    assert (digit.sum((1, 2)) == 28 * 28).all()
    # The null region holds exactly the patch, the digit region the digit.
    blocks = (len(x), 28, 28)
    np.testing.assert_array_equal(
        x[null].reshape(blocks), np.broadcast_to(dataset.null_patch, blocks)
    )
    digit_blocks, _ = B.split_blocks(x, on_top)
    np.testing.assert_array_equal(x[digit].reshape(blocks), digit_blocks)
  np.testing.assert_array_equal(
      B.digit_region_mask([True, False]), B.null_region_mask([False, True])
  )
  with pytest.raises(ValueError):
    dataset.digit_region('validation')


def test_class_mean_digits(dataset):
  means = dataset.class_mean_digits()
  assert means.shape == (2, 28, 28) and means.dtype == np.float32
  blocks, _ = B.split_blocks(
      dataset.x_train[..., 0], dataset.digit_on_top_train
  )
  for label in (0, 1):
    expected = blocks[dataset.y_train == label].mean(0)
    np.testing.assert_allclose(means[label], expected, rtol=1e-6)
  assert not np.allclose(means[0], means[1])


def test_seeds_and_source_note(digits, dataset):
  again = B.build_block_mnist(*digits, seed=0)
  np.testing.assert_array_equal(again.x_train, dataset.x_train)
  np.testing.assert_array_equal(
      again.digit_on_top_test, dataset.digit_on_top_test
  )
  other = B.build_block_mnist(*digits, seed=2)
  assert not np.array_equal(other.x_train, dataset.x_train)
  # A stand-in says it is not MNIST; real MNIST says MNIST.
  assert digits_lib.SKLEARN_DIGITS_NOTE in dataset.source_note
  assert 'not MNIST' in dataset.source_note
  as_mnist = [
      sources.ImageSplit(s.images, s.labels, 'mnist', s.split, is_mnist=True)
      for s in digits
  ]
  note = B.build_block_mnist(*as_mnist, num_train=20, num_test=10).source_note
  assert note.startswith('digit block: MNIST digits')
  assert 'not MNIST' not in note


def test_bad_options_raise(digits):
  for options in (
      {'placement': 'left'}, {'null': 'noise'}, {'classes': 'some'},
      {'classes': (1,)}, {'classes': (2, 2)}, {'classes': (0, 11)},
      {'num_train': 1},
  ):
    with pytest.raises(ValueError):
      B.build_block_mnist(*digits, **options)


# ---------------------------------------------------------- simplified version

N, NUM_BLOCKS, BLOCK = 2000, 6, 3
HALF = NUM_BLOCKS // 2
SIGMAS = (0.0, 0.7, 2.0)
SCALAR_MUS = (1.0, 2.0, 3.0)
VECTOR_MUS = ((1.0, -2.0, 0.5), (0.5, 0.5, 0.0), (3.0, 1.0, 2.0))


@jax.jit
def simplified_runs(key):
  """Three datasets vmapped over keys, sigma and mu, for scalar and vector mu.

  One program, and the same keys for both, so the draws are shared: compiling
  the threefry PRNG takes seconds on a small CPU.
  """
  def make(k, m, s):
    return S.simplified_block_mnist(
        k, N, num_blocks=NUM_BLOCKS, block_size=BLOCK, mu=m, sigma=s
    )

  keys = jax.random.split(key, len(SIGMAS))
  sigmas = jnp.asarray(SIGMAS)
  return (jax.vmap(make)(keys, jnp.asarray(SCALAR_MUS), sigmas),
          jax.vmap(make)(keys, jnp.asarray(VECTOR_MUS), sigmas))


@pytest.fixture(scope='module')
def simplified():
  return jax.tree.map(np.asarray, simplified_runs(jax.random.key(0)))


@pytest.mark.parametrize('mu_kind', ['scalar', 'vector'])
def test_simplified_block_mnist_matches_its_definition(simplified, mu_kind):
  x, y, signal_block = simplified[mu_kind == 'vector']
  mus = VECTOR_MUS if mu_kind == 'vector' else SCALAR_MUS
  mus = np.asarray(mus, np.float32)
  assert x.shape == (3, N, NUM_BLOCKS * BLOCK) and x.dtype == np.float32
  assert y.shape == signal_block.shape == (3, N)
  assert y.dtype == np.int32 and signal_block.dtype == np.int32
  for i in range(3):
    blocks = x[i].reshape(N, NUM_BLOCKS, BLOCK)
    first_half = blocks[:, :HALF]
    # Exactly one nonzero first-half block, at signal_block, equal to s * mu
    # (a scalar mu meaning mu * ones(b)).
    nonzero = (first_half != 0).any(-1)
    np.testing.assert_array_equal(nonzero.sum(1), 1)
    np.testing.assert_array_equal(nonzero.argmax(1), signal_block[i])
    sign = (2 * y[i] - 1).astype(np.float32)
    mu = np.broadcast_to(mus[i], (BLOCK,))
    np.testing.assert_array_equal(
        first_half[np.arange(N), signal_block[i]], sign[:, None] * mu[None]
    )
    # The noise half is N(0, sigma^2): loose checks of mean and deviation.
    noise = blocks[:, HALF:].ravel()
    assert abs(noise.mean()) < 0.05 * SIGMAS[i] + 1e-9
    assert abs(noise.std() - SIGMAS[i]) < 0.03 * SIGMAS[i] + 1e-9
    # Labels and signal positions are uniform: within 5 standard deviations.
    assert set(np.unique(y[i])) == {0, 1}
    assert abs(y[i].mean() - 0.5) < 5 * np.sqrt(0.25 / N)
    counts = np.bincount(signal_block[i], minlength=HALF)
    p = 1 / HALF
    assert len(counts) == HALF
    assert np.all(np.abs(counts / N - p) < 5 * np.sqrt(p * (1 - p) / N))
  # Each key draws its own labels and positions.
  assert not np.array_equal(y[0], y[1])
  assert not np.array_equal(signal_block[1], signal_block[2])


def test_simplified_signal_mask_marks_the_signal_block(simplified):
  _, (x, _, signal_block) = simplified
  mask = np.asarray(S.simplified_signal_mask(
      signal_block[0], num_blocks=NUM_BLOCKS, block_size=BLOCK
  ))
  assert mask.shape == x[0].shape and mask.dtype == bool
  assert (mask.sum(1) == BLOCK).all()
  nonzero_first_half = x[0].reshape(N, NUM_BLOCKS, BLOCK)[:, :HALF] != 0
  np.testing.assert_array_equal(mask.reshape(N, NUM_BLOCKS, BLOCK)[:, :HALF],
                                nonzero_first_half)
  assert not mask.reshape(N, NUM_BLOCKS, BLOCK)[:, HALF:].any()


def test_simplified_block_mnist_needs_an_even_number_of_blocks():
  for num_blocks in (0, 3, 5):
    with pytest.raises(ValueError, match='even'):
      S.simplified_block_mnist(
          jax.random.key(0), 10, num_blocks=num_blocks, block_size=2
      )
