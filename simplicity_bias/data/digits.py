"""scikit-learn's bundled 8x8 handwritten digits shaped like MNIST: an offline stand-in (not
MNIST: 1,797 low-resolution images), whose splits say so (``is_mnist=False`` and a note)."""

from __future__ import annotations

import numpy as np

from simplicity_bias.data.splits import ImageSplit

SKLEARN_DIGITS = "sklearn_digits"
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
