"""BlockMNIST: an MNIST digit and a non-discriminative null patch, stacked.

Each image is 56x28x1 (H x W x C), float32 in [0, 1]: two 28x28 blocks stacked
vertically. One block holds an MNIST digit, which carries the label; the other
holds the null patch, one fixed pattern shared by every image of the dataset,
so it carries no information about the label. Which block is on top is drawn
per image. Because the discriminative region of every image is known,
attributions can be scored against it (see
`simplicity_bias.attribution.quality`): a faithful attribution highlights the
digit block, and mass on the null block is feature leakage.

The paper describes the null patch only as a fixed, non-discriminative patch.
Our choices: a square outline with both diagonals (an X) drawn through it, in
MNIST's 20x20 box centred in the 28x28 block, with a 2 px antialiased stroke of
intensity 1.0 (white on black) rounded to the digits' 8-bit grid, so that the
null block looks like a digit block in stroke and brightness. The top or bottom
position is an independent fair coin per image ('random'); 'top' and 'bottom'
fix it (BlockMNIST-Top puts the digit on top), and null='zero' leaves the null
block black.

The vector version used by the theory is `simplicity_bias.data.simplified_block_mnist`.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from simplicity_bias.data import sources

BLOCK_SIZE = 28
IMAGE_SHAPE = (2 * BLOCK_SIZE, BLOCK_SIZE, 1)
# Rows of a stacked image, as (row_start, row_stop).
TOP_BLOCK = (0, BLOCK_SIZE)
BOTTOM_BLOCK = (BLOCK_SIZE, 2 * BLOCK_SIZE)

PLACEMENTS = ("random", "top", "bottom")
NULL_KINDS = ("patch", "zero")
NUM_MNIST_CLASSES = 10

# MNIST centres its size-normalised digits in a 20x20 box of the 28x28 frame.
_PATCH_INSET = 4
# Strokes of MNIST digits are roughly 2 to 3 px wide.
_PATCH_STROKE_WIDTH = 2.0


def _as_generator(rng: np.random.Generator | int) -> np.random.Generator:
  if isinstance(rng, np.random.Generator):
    return rng
  return np.random.default_rng(rng)


def _segment_distance(rows, cols, start, stop):
  """Distance from the points (rows, cols) to the segment start -> stop."""
  direction = np.subtract(stop, start, dtype=np.float64)
  offset_rows, offset_cols = rows - start[0], cols - start[1]
  along = (offset_rows * direction[0] + offset_cols * direction[1]) / (
      direction @ direction
  )
  along = np.clip(along, 0.0, 1.0)
  return np.hypot(
      offset_rows - along * direction[0], offset_cols - along * direction[1]
  )


def null_patch(
    size: int = BLOCK_SIZE,
    *,
    inset: int = _PATCH_INSET,
    stroke_width: float = _PATCH_STROKE_WIDTH,
    antialias: bool = True,
) -> np.ndarray:
  """The null pattern: a square outline with both diagonals, (size, size).

  Pixel (i, j) covers [i, i + 1) x [j, j + 1). The strokes are placed so that
  their outer edge is `inset` px from the block edge (rows and columns inset to
  size - inset - 1 are drawn: MNIST's 20x20 box for the defaults). With
  `antialias`, intensity falls linearly from 1 to 0 over the 1 px around each
  stroke edge (an approximation of the covered area); without, it is 1 inside
  the stroke and 0 outside. Values are rounded to multiples of 1/255, like
  uint8 digits.

  Args:
    size: side of the square block.
    inset: empty margin between the pattern and the block edge, in pixels.
    stroke_width: stroke width, in pixels.
    antialias: linear edge ramp (True) or hard 0/1 strokes (False).

  Returns:
    float32 (size, size) in [0, 1].
  """
  if stroke_width <= 0 or inset < 0 or 2 * (inset + stroke_width) >= size:
    raise ValueError(
        f"No room for a pattern of stroke {stroke_width} inset {inset} in a"
        f" {size} px block."
    )
  low = inset + stroke_width / 2
  high = size - inset - stroke_width / 2
  centres = np.arange(size) + 0.5
  rows, cols = np.meshgrid(centres, centres, indexing="ij")
  # Distance to the outline of the square [low, high]^2, inside or out.
  half_side = (high - low) / 2
  excess_rows = np.abs(rows - size / 2) - half_side
  excess_cols = np.abs(cols - size / 2) - half_side
  outside = np.hypot(np.maximum(excess_rows, 0), np.maximum(excess_cols, 0))
  inside = np.minimum(np.maximum(excess_rows, excess_cols), 0)
  distance = np.minimum.reduce([
      np.abs(outside + inside),
      _segment_distance(rows, cols, (low, low), (high, high)),
      _segment_distance(rows, cols, (low, high), (high, low)),
  ])
  if antialias:
    intensity = np.clip(stroke_width / 2 + 0.5 - distance, 0.0, 1.0)
  else:
    intensity = (distance <= stroke_width / 2).astype(np.float64)
  return (np.rint(intensity * 255) / 255).astype(np.float32)


def stack_blocks(
    digits: np.ndarray, digit_on_top: np.ndarray, null_block: np.ndarray
) -> np.ndarray:
  """uint8 (N, 28, 28, 1) digits, a (28, 28) null block -> (N, 56, 28, 1).

  Digit i goes in the top block where `digit_on_top[i]`, else in the bottom
  block; the null block fills the other one. The result is float32 in [0, 1].
  """
  if digits.shape[1:] != (BLOCK_SIZE, BLOCK_SIZE, 1):
    raise ValueError(f"Expected (N, 28, 28, 1) digits, got {digits.shape}.")
  digit_on_top = np.asarray(digit_on_top, bool)
  if digit_on_top.shape != (len(digits),):
    raise ValueError(
        f"Expected {len(digits)} placements, got shape {digit_on_top.shape}."
    )
  scaled = digits[..., 0].astype(np.float32) / 255.0
  null_block = np.asarray(null_block, np.float32)
  on_top = digit_on_top[:, None, None]
  top = np.where(on_top, scaled, null_block)
  bottom = np.where(on_top, null_block, scaled)
  return np.concatenate([top, bottom], axis=1)[..., None]


def digit_region_mask(digit_on_top: np.ndarray) -> np.ndarray:
  """bool (N, 56, 28): True on each image's digit (discriminative) block."""
  digit_on_top = np.asarray(digit_on_top, bool)
  in_top = np.arange(2 * BLOCK_SIZE) < BLOCK_SIZE
  rows = in_top[None, :] == digit_on_top[:, None]
  return np.broadcast_to(
      rows[:, :, None], (len(digit_on_top),) + IMAGE_SHAPE[:2]
  ).copy()


def null_region_mask(digit_on_top: np.ndarray) -> np.ndarray:
  """bool (N, 56, 28): True on each image's null block."""
  return ~digit_region_mask(digit_on_top)


def split_blocks(
    images: np.ndarray, digit_on_top: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
  """(N, 56, 28, ...) -> (digit blocks, null blocks), each (N, 28, 28, ...).

  Works on attribution maps as well as on images, e.g. to feed the null-block
  part of pixel scores to `attribution.quality.leakage_score`.
  """
  images = np.asarray(images)
  if images.shape[1:3] != IMAGE_SHAPE[:2]:
    raise ValueError(f"Expected (N, 56, 28, ...) arrays, got {images.shape}.")
  on_top = np.asarray(digit_on_top, bool).reshape(
      (-1,) + (1,) * (images.ndim - 1)
  )
  top = images[:, slice(*TOP_BLOCK)]
  bottom = images[:, slice(*BOTTOM_BLOCK)]
  return np.where(on_top, top, bottom), np.where(on_top, bottom, top)


@dataclasses.dataclass(frozen=True, eq=False)
class BlockMnistDataset:
  """Train and test arrays of BlockMNIST, with where each image's digit is.

  Attributes:
    x_train: float32 (N_train, 56, 28, 1) in [0, 1].
    y_train: int32 (N_train,) labels: the index of the digit's class in
      `classes` (a pair is relabelled 0/1; the ten classes keep their digit).
    x_test: float32 (N_test, 56, 28, 1) in [0, 1].
    y_test: int32 (N_test,) labels.
    digit_on_top_train: bool (N_train,), True where the digit is the top block.
    digit_on_top_test: bool (N_test,).
    null_patch: float32 (28, 28) null block shared by every image (zeros for
      null='zero').
    classes: the digit classes, in label order.
    placement: 'random', 'top' or 'bottom'.
    null: 'patch' or 'zero'.
    source_note: where the digits came from; says so when they are not
      MNIST, so that a stand-in run is never reported as BlockMNIST.
  """

  x_train: np.ndarray
  y_train: np.ndarray
  x_test: np.ndarray
  y_test: np.ndarray
  digit_on_top_train: np.ndarray
  digit_on_top_test: np.ndarray
  null_patch: np.ndarray
  classes: tuple[int, ...]
  placement: str
  null: str
  source_note: str

  @property
  def num_classes(self) -> int:
    return len(self.classes)

  def _digit_on_top(self, split: str) -> np.ndarray:
    if split not in ("train", "test"):
      raise ValueError(f"split must be 'train' or 'test', not {split!r}.")
    return getattr(self, f"digit_on_top_{split}")

  def digit_region(self, split: str = "test") -> np.ndarray:
    """bool (N, 56, 28): True on the digit block of each image of `split`."""
    return digit_region_mask(self._digit_on_top(split))

  def null_region(self, split: str = "test") -> np.ndarray:
    """bool (N, 56, 28): True on the null block of each image of `split`."""
    return null_region_mask(self._digit_on_top(split))

  def class_mean_digits(self, split: str = "train") -> np.ndarray:
    """float32 (num_classes, 28, 28): the mean digit block of each label.

    The reference map of `attribution.quality.leakage_score`: index it with
    the predicted labels.
    """
    on_top = self._digit_on_top(split)
    x = getattr(self, f"x_{split}")
    y = getattr(self, f"y_{split}")
    digits, _ = split_blocks(x[..., 0], on_top)
    return np.stack(
        [digits[y == label].mean(axis=0) for label in range(self.num_classes)]
    ).astype(np.float32)


def _resolve_classes(classes) -> tuple[int, ...]:
  if isinstance(classes, str):
    if classes != "all":
      raise ValueError(
          f"classes must be 'all' or a tuple of digits, not {classes!r}."
      )
    return tuple(range(NUM_MNIST_CLASSES))
  resolved = tuple(int(c) for c in classes)
  if len(resolved) < 2 or len(set(resolved)) != len(resolved):
    raise ValueError(
        f"Expected at least two distinct classes, got {classes!r}."
    )
  return resolved


def _balanced_split(
    split: sources.ImageSplit,
    classes: tuple[int, ...],
    rng: np.random.Generator,
    max_examples: int | None,
) -> tuple[np.ndarray, np.ndarray]:
  """Shuffled indices of equally many examples per class, and their labels."""
  pools = [np.flatnonzero(split.labels == c) for c in classes]
  per_class = min(len(pool) for pool in pools)
  if max_examples is not None:
    per_class = min(per_class, max_examples // len(classes))
  if per_class == 0:
    raise ValueError(
        f"{split.name}/{split.split} has no examples of some class in {classes}"
        f" (or max_examples < {len(classes)})."
    )
  chosen = np.concatenate([rng.permutation(p)[:per_class] for p in pools])
  labels = np.repeat(np.arange(len(classes), dtype=np.int32), per_class)
  # Shuffled so that batches taken in order are not all one label.
  order = rng.permutation(len(chosen))
  return chosen[order], labels[order]


def _placements(
    num: int, placement: str, rng: np.random.Generator
) -> np.ndarray:
  if placement == "random":
    return rng.random(num) < 0.5
  return np.full(num, placement == "top")


def _source_note(split: sources.ImageSplit, null: str) -> str:
  if split.is_mnist:
    digits = "MNIST digits"
  else:
    digits = split.note or f"{split.name} digits, not MNIST"
  pattern = "square-and-X patch" if null == "patch" else "all zero"
  return f"digit block: {digits}; null block: {pattern}"


def build_block_mnist(
    digit_train: sources.ImageSplit,
    digit_test: sources.ImageSplit,
    *,
    classes: tuple[int, ...] | str = (0, 1),
    placement: str = "random",
    null: str = "patch",
    seed: int | np.random.Generator = 0,
    num_train: int | None = None,
    num_test: int | None = None,
) -> BlockMnistDataset:
  """Builds BlockMNIST from already loaded digit splits.

  Args:
    digit_train: digit source train split, uint8 (N, 28, 28, 1).
    digit_test: digit source test split.
    classes: the digit classes, relabelled 0, 1, ... in this order; 'all' is
      the ten classes, whose labels stay the digits. Our default is (0, 1).
    placement: 'random' (the digit is on top with probability 1/2,
      independently per image), 'top' (BlockMNIST-Top) or 'bottom'.
    null: 'patch' (`null_patch()`) or 'zero' (a black null block).
    seed: seed (or Generator) for the example choice, order and placement;
      train is drawn before test from the same Generator.
    num_train: optional cap on training examples. Every class keeps as many
      examples as the smallest class pool (capped at num_train //
      num_classes), so the classes stay balanced.
    num_test: optional cap on test examples, likewise.

  Returns:
    The dataset, with `source_note` naming the digit source.
  """
  classes = _resolve_classes(classes)
  if placement not in PLACEMENTS:
    raise ValueError(
        f"Unknown placement {placement!r}; choose from {PLACEMENTS}."
    )
  if null not in NULL_KINDS:
    raise ValueError(f"Unknown null {null!r}; choose from {NULL_KINDS}.")
  rng = _as_generator(seed)
  if null == "patch":
    null_block = null_patch()
  else:
    null_block = np.zeros((BLOCK_SIZE, BLOCK_SIZE), np.float32)

  def build(split, max_examples):
    indices, labels = _balanced_split(split, classes, rng, max_examples)
    on_top = _placements(len(indices), placement, rng)
    # Index before converting so that only the chosen digits become float32.
    x = stack_blocks(split.images[indices], on_top, null_block)
    return x, labels, on_top

  x_train, y_train, on_top_train = build(digit_train, num_train)
  x_test, y_test, on_top_test = build(digit_test, num_test)
  return BlockMnistDataset(
      x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
      digit_on_top_train=on_top_train, digit_on_top_test=on_top_test,
      null_patch=null_block, classes=classes, placement=placement, null=null,
      source_note=_source_note(digit_train, null),
  )


def load_block_mnist(
    *,
    digit_source: str = "mnist",
    data_dir: str | os.PathLike[str] | None = None,
    **options,
) -> BlockMnistDataset:
  """Loads the digit source (see `sources.load_split`) and builds BlockMNIST.

  Args:
    digit_source: 'mnist', or a 28x28x1 stand-in such as 'sklearn_digits'
      (the result's `source_note` then says the digits are not MNIST).
    data_dir: TFDS data directory (see `simplicity_bias.data.store.resolve_data_dir`).
    **options: keyword arguments of `build_block_mnist`.

  Raises:
    sources.DatasetNotFoundError: the digits are not prepared in `data_dir`.
  """
  return build_block_mnist(
      sources.load_split(digit_source, "train", data_dir=data_dir),
      sources.load_split(digit_source, "test", data_dir=data_dir),
      **options,
  )
