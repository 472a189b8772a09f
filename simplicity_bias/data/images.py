"""MNIST-CIFAR: a simple block (an MNIST digit) stacked on a complex block.

Each image is 64x32x3 (H x W x C), float32 in [0, 1]: rows 0..31 hold an MNIST
digit (zero-padded 2 px to 32x32, repeated to 3 channels) and rows 32..63 a
CIFAR-10 image. Both blocks fully predict the binary label: label 0 pairs the
variant's first digit with its first CIFAR class, label 1 the second digit
with the second class. Within a class, digit and CIFAR image are paired at
random, and every class keeps as many pairs as the smallest of the four pools
(two digit pools, two CIFAR pools), so the classes stay balanced. With MNIST
and CIFAR-10 this gives 10,000 train and 1,960 test images for variant A.

Randomised test sets (`randomize_block`) test which block a model relies on:
one block is permuted across the test set, which breaks its link to the label
while the other block and the labels stay as they were.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from simplicity_bias.data import sources

# Rows of a stacked image, as (row_start, row_stop).
SIMPLE_BLOCK = (0, 32)
COMPLEX_BLOCK = (32, 64)
BLOCK_SIZE = 32
_MNIST_PAD = (BLOCK_SIZE - 28) // 2

CIFAR10_CLASS_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)


@dataclasses.dataclass(frozen=True)
class MnistCifarVariant:
  """Which two digits and which two CIFAR-10 classes (label ids) are paired.

  Index k of each pair makes up label k.
  """

  digit_classes: tuple[int, int]
  cifar_classes: tuple[int, int]


VARIANTS = {
    "A": MnistCifarVariant(digit_classes=(0, 1), cifar_classes=(1, 9)),
    "B": MnistCifarVariant(digit_classes=(1, 4), cifar_classes=(1, 9)),
    "C": MnistCifarVariant(digit_classes=(0, 1), cifar_classes=(0, 8)),
}


@dataclasses.dataclass(frozen=True, eq=False)
class MnistCifarDataset:
  """Train and test arrays of one MNIST-CIFAR variant, with their layout.

  Attributes:
    x_train: float32 (N_train, 64, 32, 3) in [0, 1].
    y_train: int32 (N_train,) binary labels.
    x_test: float32 (N_test, 64, 32, 3) in [0, 1].
    y_test: int32 (N_test,) binary labels.
    variant: 'A', 'B' or 'C' (see VARIANTS).
    simple_block: (row_start, row_stop) of the digit block, rows 0..31; None
      when there is no digit block (CIFAR only, see `build_cifar_only`).
    complex_block: (row_start, row_stop) of the CIFAR block, rows 32..63.
    source_note: where the blocks came from; says so when the digits are not
      MNIST, so that a stand-in run is never reported as MNIST-CIFAR.
  """

  x_train: np.ndarray
  y_train: np.ndarray
  x_test: np.ndarray
  y_test: np.ndarray
  variant: str
  source_note: str
  simple_block: tuple[int, int] | None = SIMPLE_BLOCK
  complex_block: tuple[int, int] = COMPLEX_BLOCK


@dataclasses.dataclass(frozen=True, eq=False)
class PairedIndices:
  """Which simple and which complex example form each stacked example."""

  simple_indices: np.ndarray
  complex_indices: np.ndarray
  labels: np.ndarray


def _as_generator(rng: np.random.Generator | int) -> np.random.Generator:
  if isinstance(rng, np.random.Generator):
    return rng
  return np.random.default_rng(rng)


def _class_pools(labels: np.ndarray, classes: tuple[int, int]) -> list:
  return [np.flatnonzero(labels == c) for c in classes]


def _per_label(pools: list, max_examples: int | None) -> int:
  per_label = min(len(pool) for pool in pools)
  if max_examples is not None:
    per_label = min(per_label, max_examples // 2)
  return per_label


def pair_within_classes(
    simple_labels: np.ndarray,
    complex_labels: np.ndarray,
    simple_classes: tuple[int, int],
    complex_classes: tuple[int, int],
    rng: np.random.Generator | int,
    max_examples: int | None = None,
) -> PairedIndices:
  """Randomly pairs simple and complex examples that share a binary label.

  Label k pairs examples of simple class `simple_classes[k]` with examples of
  complex class `complex_classes[k]`. Each label gets as many pairs as the
  smallest of the four class pools (capped at `max_examples // 2`), so the
  result is balanced; the pairs are returned in shuffled order.

  Args:
    simple_labels: (N_simple,) class ids of the simple (digit) pool.
    complex_labels: (N_complex,) class ids of the complex (CIFAR) pool.
    simple_classes: the digit class of label 0 and of label 1.
    complex_classes: the CIFAR class of label 0 and of label 1.
    rng: a numpy Generator, or a seed for one.
    max_examples: optional cap on the total number of pairs.

  Returns:
    Indices into both pools and the binary label of each pair.
  """
  rng = _as_generator(rng)
  simple_pools = _class_pools(simple_labels, simple_classes)
  complex_pools = _class_pools(complex_labels, complex_classes)
  per_label = _per_label(simple_pools + complex_pools, max_examples)
  if per_label == 0:
    raise ValueError(
        f"Cannot pair digit classes {simple_classes} with CIFAR classes "
        f"{complex_classes}: a class pool is empty (or max_examples < 2)."
    )
  simple_chosen = [rng.permutation(pool)[:per_label] for pool in simple_pools]
  complex_chosen = [rng.permutation(pool)[:per_label] for pool in complex_pools]
  labels = np.repeat(np.arange(2, dtype=np.int32), per_label)
  # Shuffled so that batches taken in order are not all one label.
  order = rng.permutation(2 * per_label)
  return PairedIndices(
      simple_indices=np.concatenate(simple_chosen)[order],
      complex_indices=np.concatenate(complex_chosen)[order],
      labels=labels[order],
  )


def mnist_to_block(digits: np.ndarray) -> np.ndarray:
  """uint8 (N, 28, 28, 1) digits -> float32 (N, 32, 32, 3) in [0, 1]."""
  if digits.shape[1:] != (28, 28, 1):
    raise ValueError(f"Expected (N, 28, 28, 1) digits, got {digits.shape}.")
  scaled = digits.astype(np.float32) / 255.0
  pad = (_MNIST_PAD, _MNIST_PAD)
  padded = np.pad(scaled, ((0, 0), pad, pad, (0, 0)))
  return np.repeat(padded, 3, axis=-1)


def cifar_to_block(images: np.ndarray) -> np.ndarray:
  """uint8 (N, 32, 32, 3) images -> float32 in [0, 1]."""
  if images.shape[1:] != (BLOCK_SIZE, BLOCK_SIZE, 3):
    raise ValueError(f"Expected (N, 32, 32, 3) images, got {images.shape}.")
  return images.astype(np.float32) / 255.0


def stack_mnist_cifar(
    digits: np.ndarray, cifar_images: np.ndarray
) -> np.ndarray:
  """Digit block on top, CIFAR block below: float32 (N, 64, 32, 3)."""
  return np.concatenate(
      [mnist_to_block(digits), cifar_to_block(cifar_images)], axis=1
  )


def _paired_split(
    mnist_split: sources.ImageSplit,
    cifar_split: sources.ImageSplit,
    variant: MnistCifarVariant,
    rng: np.random.Generator,
    max_examples: int | None,
) -> tuple[np.ndarray, np.ndarray]:
  pairs = pair_within_classes(
      mnist_split.labels, cifar_split.labels,
      variant.digit_classes, variant.cifar_classes,
      rng, max_examples,
  )
  # Index before converting so that only the chosen images become float32.
  x = stack_mnist_cifar(
      mnist_split.images[pairs.simple_indices],
      cifar_split.images[pairs.complex_indices],
  )
  return x, pairs.labels


def _source_note(
    mnist_train: sources.ImageSplit, cifar_train: sources.ImageSplit
) -> str:
  """Names both sources; a stand-in contributes its note ('not MNIST', ...)."""
  if mnist_train.is_mnist:
    digits = "MNIST digits"
  else:
    digits = mnist_train.note or f"{mnist_train.name} digits, not MNIST"
  return f"top block: {digits}; bottom block: {_cifar_source(cifar_train)}"


def _cifar_source(cifar_train: sources.ImageSplit) -> str:
  return cifar_train.note or f"{cifar_train.name} images"


def _variant_and_rng(
    variant: str, seed: int | np.random.Generator
) -> tuple[MnistCifarVariant, np.random.Generator]:
  if variant not in VARIANTS:
    raise ValueError(
        f"Unknown variant {variant!r}; choose from {sorted(VARIANTS)}."
    )
  return VARIANTS[variant], _as_generator(seed)


def build_mnist_cifar(
    mnist_train: sources.ImageSplit,
    mnist_test: sources.ImageSplit,
    cifar_train: sources.ImageSplit,
    cifar_test: sources.ImageSplit,
    *,
    variant: str = "A",
    seed: int | np.random.Generator = 0,
    num_train: int | None = None,
    num_test: int | None = None,
) -> MnistCifarDataset:
  """Builds an MNIST-CIFAR variant from already loaded splits.

  Args:
    mnist_train: digit source train split, uint8 (N, 28, 28, 1).
    mnist_test: digit source test split.
    cifar_train: CIFAR-10 train split, uint8 (N, 32, 32, 3).
    cifar_test: CIFAR-10 test split.
    variant: a key of VARIANTS.
    seed: seed (or Generator) for the random pairing; train pairs are drawn
      before test pairs from the same Generator.
    num_train: optional cap on training examples (balanced, so rounded down
      to an even number).
    num_test: optional cap on test examples, likewise.

  Returns:
    The dataset, with `source_note` naming the digit and CIFAR sources.
  """
  spec, rng = _variant_and_rng(variant, seed)
  x_train, y_train = _paired_split(
      mnist_train, cifar_train, spec, rng, num_train
  )
  x_test, y_test = _paired_split(mnist_test, cifar_test, spec, rng, num_test)
  return MnistCifarDataset(
      x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
      variant=variant, source_note=_source_note(mnist_train, cifar_train),
  )


def _two_class_split(
    split: sources.ImageSplit,
    classes: tuple[int, int],
    rng: np.random.Generator,
    max_examples: int | None,
) -> tuple[np.ndarray, np.ndarray]:
  pools = _class_pools(split.labels, classes)
  per_label = _per_label(pools, max_examples)
  if per_label == 0:
    raise ValueError(
        f"{split.name}/{split.split} has no examples of class {classes} (or"
        " max_examples < 2)."
    )
  chosen = np.concatenate([rng.permutation(p)[:per_label] for p in pools])
  labels = np.repeat(np.arange(2, dtype=np.int32), per_label)
  order = rng.permutation(2 * per_label)
  return cifar_to_block(split.images[chosen[order]]), labels[order]


def build_cifar_only(
    cifar_train: sources.ImageSplit,
    cifar_test: sources.ImageSplit,
    *,
    variant: str = "A",
    seed: int | np.random.Generator = 0,
    num_train: int | None = None,
    num_test: int | None = None,
) -> MnistCifarDataset:
  """The complex block alone: the variant's two CIFAR-10 classes, 32x32x3.

  A model trained on it shows that the block MNIST-CIFAR models ignore is
  predictive by itself (automobile vs truck for variant A). Classes are
  balanced as in `build_mnist_cifar`; the result has no simple block.
  """
  spec, rng = _variant_and_rng(variant, seed)
  classes = spec.cifar_classes
  x_train, y_train = _two_class_split(cifar_train, classes, rng, num_train)
  x_test, y_test = _two_class_split(cifar_test, classes, rng, num_test)
  names = " vs ".join(CIFAR10_CLASS_NAMES[c] for c in classes)
  return MnistCifarDataset(
      x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
      variant=variant, source_note=f"{_cifar_source(cifar_train)} only: {names}",
      simple_block=None, complex_block=(0, BLOCK_SIZE),
  )


def load_cifar_only(
    variant: str = "A",
    *,
    data_dir: str | os.PathLike[str] | None = None,
    seed: int | np.random.Generator = 0,
    num_train: int | None = None,
    num_test: int | None = None,
) -> MnistCifarDataset:
  """Loads CIFAR-10 (see `sources.load_split`) and builds `build_cifar_only`."""
  return build_cifar_only(
      sources.load_split("cifar10", "train", data_dir=data_dir),
      sources.load_split("cifar10", "test", data_dir=data_dir),
      variant=variant, seed=seed, num_train=num_train, num_test=num_test,
  )


def load_mnist_cifar(
    variant: str = "A",
    *,
    digit_source: str = "mnist",
    data_dir: str | os.PathLike[str] | None = None,
    seed: int | np.random.Generator = 0,
    num_train: int | None = None,
    num_test: int | None = None,
) -> MnistCifarDataset:
  """Loads the sources (see `sources.load_split`) and builds a variant.

  Args:
    variant: a key of VARIANTS.
    digit_source: 'mnist', or a 28x28x1 stand-in such as 'sklearn_digits'
      (the result's `source_note` then says the digits are not MNIST).
    data_dir: TFDS data directory (see `simplicity_bias.data.store.resolve_data_dir`).
    seed: seed (or Generator) for the random pairing.
    num_train: optional cap on training examples.
    num_test: optional cap on test examples.

  Returns:
    The dataset.

  Raises:
    sources.DatasetNotFoundError: a dataset is not prepared in `data_dir`.
  """
  def load(name, split):
    return sources.load_split(name, split, data_dir=data_dir)

  return build_mnist_cifar(
      load(digit_source, "train"), load(digit_source, "test"),
      load("cifar10", "train"), load("cifar10", "test"),
      variant=variant, seed=seed, num_train=num_train, num_test=num_test,
  )
