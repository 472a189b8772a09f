"""Image data sources: MNIST-CIFAR (variants A/B/C) and CIFAR-only, shared by every member.

The simple block S of MNIST-CIFAR is the digit (image rows 0-31), the complex block S^c the
CIFAR-10 image (rows 32-63). CIFAR-only has no S / S^c split: its 32 rows are the whole image,
so permuting them across the test set would only shuffle the images, and it has no randomized
test sets. Loading goes through ``simplicity_bias.data.sources`` (an imported raw-format store,
or TFDS array_record files); a dataset that is not there raises a ConfigError that says how to
prepare it.
"""

from simplicity_bias.data import images
from simplicity_bias.data.registry import DataBundle, DataInfo, Source
from simplicity_bias.validation import ConfigError, check_choice

DIGIT_SOURCES = ("mnist", "fashion_mnist", "sklearn_digits")


def _check(config):
  d = config.data
  check_choice("data.variant", d.variant, tuple(images.VARIANTS))
  if d.source == "mnist_cifar":
    check_choice("data.digit_source", d.digit_source, DIGIT_SOURCES)
  for field in ("num_train", "num_test"):
    if d[field] is None or d[field] < 0:
      raise ConfigError(f"data.{field}={d[field]!r} must be >= 0 (0 = every image).")


def info(config) -> DataInfo:
  _check(config)
  d = config.data
  if d.source == "cifar_only":
    return DataInfo(name=f"cifar_only_{d.variant}", kind="image")
  return DataInfo(name=f"mnist_cifar_{d.variant}", kind="image", simple=images.SIMPLE_BLOCK,
                  complex=images.COMPLEX_BLOCK)


def load(config) -> images.MnistCifarDataset:
  """The configured dataset as numpy arrays (DatasetNotFoundError -> ConfigError)."""
  from simplicity_bias.data import sources
  d = config.data
  kwargs = dict(variant=d.variant, data_dir=d.data_dir or None, seed=config.seed,
                num_train=d.num_train or None, num_test=d.num_test or None)
  try:
    if d.source == "cifar_only":
      return images.load_cifar_only(**kwargs)
    return images.load_mnist_cifar(digit_source=d.digit_source, **kwargs)
  except sources.DatasetNotFoundError as e:
    raise ConfigError(str(e)) from None


def build(config, layout) -> DataBundle:
  del layout  # one dataset for every member
  ds = load(config)
  base = info(config)
  empty = ds.x_test[:0]
  describe = {"name": base.name, "source": ds.source_note, "num_train": len(ds.y_train),
              "num_test": len(ds.y_test), "variant": ds.variant,
              "simple_rows": list(base.simple), "complex_rows": list(base.complex)}
  import dataclasses
  return DataBundle(ds.x_train, ds.y_train, empty, ds.y_test[:0], ds.x_test, ds.y_test, None,
                    info=dataclasses.replace(base, num_train=len(ds.y_train),
                                             source_note=ds.source_note),
                    shared=True, describe=describe)


SOURCES = {"mnist_cifar": Source(info, build), "cifar_only": Source(info, build)}
