"""The generated mock image data (simplicity_bias/data/mock.py): deterministic, read by the real
loading code (the imported store of `sources.load_split`), flagged as mock wherever it is read,
and what every `:smoke` preset's image data resolves to without network or prepared data."""

import json
import os
import socket

import numpy as np
import pytest

from conftest import load_config, set_fields
from simplicity_bias.data import mock, registry, sources, store
from simplicity_bias.experiments import claim_configs
from simplicity_bias.pipeline import layout_of
from simplicity_bias.validation import ConfigError

CONFIGS = [name for name, _ in claim_configs()]


@pytest.fixture
def fresh_mock_dir(tmp_path, monkeypatch):
  """An empty mock data directory, an empty TFDS directory, and no network."""
  monkeypatch.setenv(mock.ENV_DIR, str(tmp_path / "mock"))
  monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
  (tmp_path / "tfds").mkdir()

  def no_network(*args, **kwargs):
    raise AssertionError(f"network access: {args}")

  monkeypatch.setattr(socket.socket, "connect", no_network)
  return tmp_path / "mock"


@pytest.mark.parametrize("name", sorted(mock.IMAGE_SHAPES))
def test_generator_is_deterministic_and_the_real_loader_reads_it(name, fresh_mock_dir):
  first = mock.generate_split(name, "train")
  np.testing.assert_array_equal(first[0], mock.generate_split(name, "train")[0])
  np.testing.assert_array_equal(first[1], mock.generate_split(name, "train")[1])
  assert not np.array_equal(first[0], mock.generate_split(name, "train", seed=1)[0])
  for split, size in mock.SPLIT_SIZES.items():
    loaded = sources.load_split(name, split, data_dir="mock")
    assert loaded.images.shape == (size,) + mock.IMAGE_SHAPES[name]
    assert loaded.images.dtype == np.uint8 and loaded.labels.dtype == np.int32
    assert np.bincount(loaded.labels).tolist() == [size // 10] * 10
    assert (loaded.name, loaded.split) == (name, split)
    assert not loaded.is_mnist and loaded.note == mock.note(name)
    assert f"not {store.TFDS_DATASETS[name]}" in loaded.note
    # Read from the imported store of the mock directory, like imported real data.
    assert os.path.exists(store.imported_path(name, split, fresh_mock_dir / "v1"))
  np.testing.assert_array_equal(sources.load_split(name, "train", data_dir="mock").images,
                                first[0])


def test_digits_show_their_class_and_colour_mocks_do_not(fresh_mock_dir):
  """A nearest-class-mean classifier reads the mock digits' labels off their pixels; the colour
  mocks' labels carry no information (so in MNIST-CIFAR a model must learn the digits)."""
  def nearest_mean_accuracy(name):
    train, test = (sources.load_split(name, s, data_dir="mock") for s in ("train", "test"))
    x_train, x_test = (s.images.reshape(len(s.images), -1).astype(np.float64)
                       for s in (train, test))
    means = np.stack([x_train[train.labels == c].mean(0) for c in range(10)])
    predicted = np.argmin(((x_test[:, None] - means[None]) ** 2).sum(-1), axis=1)
    return np.mean(predicted == test.labels)

  assert nearest_mean_accuracy("mnist") > 0.95
  assert nearest_mean_accuracy("fashion_mnist") > 0.95
  assert nearest_mean_accuracy("cifar10") < 0.3
  digits = sources.load_split("mnist", "test", data_dir="mock").images
  assert not digits[:, :4].any() and not digits[:, -4:].any()  # MNIST's black border


def _as_real_import(name, data_dir):
  """Strips the store record's `generated` entry, as a real import's record has none."""
  record_path = store.provenance_path(name, data_dir)
  with open(record_path, encoding="utf-8") as f:
    record = json.load(f)
  del record[mock.GENERATED_KEY]
  with open(record_path, "w", encoding="utf-8") as f:
    json.dump(record, f)


def test_generated_data_is_flagged_wherever_it_lies(tmp_path):
  mock.generate("mnist", tmp_path)
  split = sources.load_split("mnist", "test", data_dir=tmp_path)
  assert not split.is_mnist and "not MNIST" in split.note
  # A real import's record has no `generated` entry: the same files read as MNIST.
  _as_real_import("mnist", tmp_path)
  split = sources.load_split("mnist", "test", data_dir=tmp_path)
  assert split.is_mnist and split.note == ""


def test_generated_once_then_reused_until_the_record_is_stale(fresh_mock_dir):
  folder = mock.ensure("cifar10", "mock")
  path = store.imported_path("cifar10", "train", "mock")
  assert os.path.dirname(path) == folder
  os.utime(path, (0, 0))
  mock.ensure("cifar10", "mock")
  assert os.path.getmtime(path) == 0           # reused
  record_path = store.provenance_path("cifar10", "mock")
  with open(record_path, encoding="utf-8") as f:
    record = json.load(f)
  record[mock.GENERATED_KEY]["version"] = mock.VERSION - 1
  with open(record_path, "w", encoding="utf-8") as f:
    json.dump(record, f)
  mock.ensure("cifar10", "mock")
  assert os.path.getmtime(path) > 0            # regenerated
  with open(record_path, encoding="utf-8") as f:
    assert json.load(f)[mock.GENERATED_KEY]["version"] == mock.VERSION


def test_real_imported_data_is_never_overwritten(tmp_path):
  mock.generate("mnist", tmp_path)
  _as_real_import("mnist", tmp_path)
  with pytest.raises(ValueError, match="imported mnist"):
    mock.generate("mnist", tmp_path)


# The claim configs that read image datasets (the others draw synthetic data).
IMAGE_SMOKE = [name for name in CONFIGS if "data_dir" in load_config(name, "smoke").data]


def test_every_image_smoke_preset_reads_the_mock():
  assert len(IMAGE_SMOKE) >= 11, IMAGE_SMOKE
  for name in IMAGE_SMOKE:
    config = load_config(name, "smoke")
    assert config.data.data_dir == "mock", name
    assert config.data.get("digit_source", "mnist") != "sklearn_digits", name
    assert config.data.get("dataset", "mnist") != "sklearn_digits", name


@pytest.mark.parametrize("name", IMAGE_SMOKE)
def test_smoke_data_is_mock_without_network_or_prepared_data(name, fresh_mock_dir):
  config = load_config(name, "smoke")
  bundle = registry.build(config, layout_of(config))
  assert "mock" in bundle.info.source_note and "mock" in bundle.describe["source"]
  assert len(bundle.y_train) > 0 and len(bundle.y_test) > 0
  # A real data directory still selects real data: here an empty one, so the run stops.
  empty = str(fresh_mock_dir.parent / "tfds")
  real = set_fields(load_config(name, "smoke"), **{"data.data_dir": empty})
  with pytest.raises(ConfigError, match="is not prepared in"):
    registry.build(real, layout_of(real))
