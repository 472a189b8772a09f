"""One split of an image classification dataset, held in memory, and the error of a dataset
that is not there."""

from __future__ import annotations

import dataclasses

import numpy as np


class DatasetNotFoundError(ValueError):
  """A dataset is neither imported nor prepared (as array_record files)."""


@dataclasses.dataclass(frozen=True, eq=False)
class ImageSplit:
  """One split of an image classification dataset, held in memory.

  Attributes:
    images: uint8 array of shape (N, H, W, C), pixel values 0..255.
    labels: int32 array of shape (N,), int32 being JAX's default integer width.
    name: the source name, e.g. 'mnist' or 'sklearn_digits'.
    split: the split it came from, e.g. 'train'.
    is_mnist: False whenever the digits are not real MNIST, so that results
      obtained with a stand-in are never reported as MNIST results.
    note: empty for the real datasets; says what the data really is otherwise.
  """

  images: np.ndarray
  labels: np.ndarray
  name: str
  split: str
  is_mnist: bool
  note: str = ""

  def __post_init__(self):
    # Checked here so that a malformed cache or source fails at load time,
    # not deep inside a training step.
    if self.images.dtype != np.uint8 or self.images.ndim != 4:
      raise ValueError(
          f"{self.name}/{self.split}: images must be uint8 NHWC, got "
          f"{self.images.dtype} with shape {self.images.shape}."
      )
    if self.labels.ndim != 1 or len(self.labels) != len(self.images):
      raise ValueError(
          f"{self.name}/{self.split}: expected {len(self.images)} labels, got "
          f"shape {self.labels.shape}."
      )

  @property
  def num_examples(self) -> int:
    return len(self.labels)
