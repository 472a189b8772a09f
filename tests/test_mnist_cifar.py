"""The image experiment (experiments/mnist_cifar.py) end to end, without network.

Training runs read their data through the real tfds loading code under `tfds.testing.mock_data`
(random images with random labels, so the mock "CIFAR" block carries no label information) with
digits from scikit-learn's bundled set (real handwriting): a model that learns must learn the
digits, so its MNIST-randomized AUC falls to chance while CIFAR-randomized AUC stays at the
standard one — which checks that the randomized sets permute the right rows. The evaluation
itself is checked against hand-built models that read one block only.
"""

import json
import os

import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow_datasets as tfds

from conftest import load_config, run_launch
from simplicity_bias.data import images
from simplicity_bias.experiments import mnist_cifar
from simplicity_bias.metrics.classification import auc_null_std
from simplicity_bias.validation import ConfigError

SB_NAMES = ("test_acc", "test_auc", "s_rand_acc", "s_rand_auc", "sc_rand_acc", "sc_rand_auc")


def mock_tfds(num_examples=600):
  """tfds mock whose splits hold different random images (tfds' own mock repeats one set in
  every split, so a model could memorise the test images' noise blocks during training)."""

  def as_data_source(builder, split, **kwargs):
    del kwargs
    rng = np.random.default_rng(["train", "test"].index(str(split)))
    shape = builder.info.features["image"].shape
    num_classes = builder.info.features["label"].num_classes
    return [{"image": rng.integers(0, 256, size=shape, dtype=np.uint8),
             "label": int(rng.integers(num_classes))} for _ in range(num_examples)]

  return tfds.testing.mock_data(policy=tfds.testing.MockPolicy.USE_CODE,
                                as_data_source_fn=as_data_source)


def smoke_config(name, data_dir, **overrides):
  c = load_config(name, "smoke")
  with c.unlocked():
    c.data.data_dir = str(data_dir)
    for path, value in overrides.items():
      node = c
      *parents, leaf = path.split(".")
      for p in parents:
        node = node[p]
      node[leaf] = value
  return c


# ------------------------------------------------------------------- evaluation, no training


def _two_block_dataset(n=600, seed=0):
  """Test images whose top and bottom blocks both carry the label (brightness shift)."""
  rng = np.random.default_rng(seed)
  y = rng.integers(0, 2, n).astype(np.int32)
  x = rng.uniform(0.0, 0.7, size=(n, 64, 32, 3)).astype(np.float32)
  x += 0.3 * y[:, None, None, None] * rng.uniform(0.5, 1.0, size=(n, 1, 1, 1)).astype(np.float32)
  return images.MnistCifarDataset(x_train=x[:2], y_train=y[:2], x_test=x, y_test=y, variant="A",
                                  source_note="generated")


@pytest.mark.parametrize("block", ["simple", "complex"])
def test_randomized_sets_break_exactly_the_block_a_model_reads(block):
  data = _two_block_dataset()
  rows = slice(*(data.simple_block if block == "simple" else data.complex_block))
  # Two "members" that read only `block`: score = mean brightness of its rows (x2 for member 2).
  read = lambda x: np.asarray(x)[:, rows].mean(axis=(1, 2, 3))
  sets = mnist_cifar.eval_sets(data, seed=3)
  logits = {k: np.stack([np.stack([np.zeros(len(v)), s * read(v)], -1) for s in (1.0, 2.0)])
            for k, v in sets.items()}
  metrics, _ = mnist_cifar.score_sets(logits, data.y_test)
  assert np.all(metrics["test_auc"] > 0.9)
  broken, kept = ("s_rand", "sc_rand") if block == "simple" else ("sc_rand", "s_rand")
  null = float(auc_null_std(jnp.asarray(data.y_test)))
  np.testing.assert_array_less(np.abs(metrics[f"{broken}_auc"] - 0.5), 4 * null)
  np.testing.assert_array_equal(metrics[f"{kept}_auc"], metrics["test_auc"])
  np.testing.assert_array_equal(metrics[f"{kept}_acc"], metrics["test_acc"])


def test_ensemble_logits_average_consecutive_members():
  rng = np.random.default_rng(0)
  member = rng.normal(size=(6, 5, 2))
  out = mnist_cifar.ensemble_logits(member, 3)
  assert out.shape == (2, 5, 2)
  np.testing.assert_allclose(out[0], (member[0] + member[1] + member[2]) / 3)
  np.testing.assert_allclose(out[1], (member[3] + member[4] + member[5]) / 3)


def test_bad_configs_are_rejected_before_loading_data(tmp_path):
  with pytest.raises(ConfigError, match="resnet50"):  # the message lists the image models
    mnist_cifar.validate(smoke_config("mnist_cifar", tmp_path, **{"model.name": "fcn"}))
  with pytest.raises(ConfigError, match="data.variant"):
    mnist_cifar.validate(smoke_config("mnist_cifar", tmp_path, **{"data.variant": "D"}))
  with pytest.raises(ConfigError, match="checkpoint_every"):
    mnist_cifar.validate(smoke_config("mnist_cifar", tmp_path, resume=True))
  with pytest.raises(ConfigError, match="cell 'A vgg99'"):
    mnist_cifar.validate(smoke_config("mnist_cifar", tmp_path, **{"sweep.models": "resnet18,vgg99",
                                                                  "sweep.variants": "A,B"}))
  cells = mnist_cifar.validate(smoke_config("mnist_cifar", tmp_path, **{
      "sweep.models": "resnet18,vgg11", "sweep.variants": "A,C"}))
  assert [cell.label for cell, _ in cells] == ["A resnet18", "C resnet18", "A vgg11", "C vgg11"]
  # A swept model starts from its own defaults, not the base model's fields.
  assert cells[2][1].model.to_dict() == {"name": "vgg11"}


def test_missing_dataset_exits_with_one_sentence(tmp_path):
  empty = tmp_path / "tfds"
  empty.mkdir()
  proc = run_launch("train.py", "--config=configs/mnist_cifar.py:smoke",
                    f"--workdir={tmp_path / 'w'}", f"--config.data.data_dir={empty}",
                    "--config.data.digit_source=mnist")
  assert proc.returncode == 2, proc.stderr[-2000:]
  message = proc.stderr.strip().splitlines()[-1]
  assert message.startswith("error: MNIST is not prepared in " + str(empty)), message
  assert "launch/build_datasets.py --datasets=mnist" in message
  assert not os.path.exists(tmp_path / "w" / "results.json")


# ------------------------------------------------------------------- training under mock data


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
  """Mock tfds data, stacked into the npz cache once so that every run sees the same images."""
  path = tmp_path_factory.mktemp("tfds")
  from simplicity_bias.data import sources
  with mock_tfds():
    for split in ("train", "test"):
      sources.load_split("cifar10", split, data_dir=path)
  return path


@pytest.fixture(scope="module")
def smoke_run(data_dir, tmp_path_factory):
  workdir = tmp_path_factory.mktemp("mnist_cifar")
  config = smoke_config("mnist_cifar", data_dir)
  return config, workdir, mnist_cifar.run(config, str(workdir))


def test_model_learns_the_digits_and_ignores_the_noise_block(smoke_run):
  config, workdir, results = smoke_run
  row = results["rows"][0]
  assert set(SB_NAMES) <= set(row["summary"])
  assert all(len(row["per_seed"][m]) == config.num_seeds for m in SB_NAMES)
  s = {m: np.asarray(row["per_seed"][m]) for m in SB_NAMES}
  assert np.all(s["test_auc"] > 0.9), s
  # The mock CIFAR block is noise: randomizing it changes nothing, randomizing digits is chance.
  np.testing.assert_allclose(s["sc_rand_auc"], s["test_auc"], atol=0.1)
  assert np.all(np.abs(s["s_rand_auc"] - 0.5) < 4 * row["auc_null_std"]), s
  for name in ("results.json", "results.csv", "config.json", "metrics.jsonl", "report.md",
               "auc.png", "examples.png", "score_histograms.png"):
    assert os.path.getsize(workdir / name) > 0, name
  report = (workdir / "report.md").read_text()
  assert "NOT MNIST" in report and "not MNIST" in results["source"]
  claims = mnist_cifar.claims(results)
  assert [c["metric"] for c in claims] == ["test_auc", "s_rand_auc", "sc_rand_auc"]
  assert claims[1]["mean"] == pytest.approx(row["summary"]["s_rand_auc"]["mean"])


class _Killed(Exception):
  pass


def test_killed_ensemble_run_resumes_to_the_same_numbers(data_dir, tmp_path, monkeypatch):
  straight = mnist_cifar.run(smoke_config("mnist_cifar_ensemble", data_dir), str(tmp_path / "a"))
  row = straight["rows"][0]
  assert len(row["per_seed"]["test_auc"]) == 2  # two ensembles of two members
  assert "member_s_rand_auc" in row["summary"]

  real_fit = mnist_cifar.fit
  straight_steps = _logged_steps(tmp_path / "a")
  assert len(straight_steps) >= 4
  kill_step = straight_steps[2]  # after three checks; the run has more

  def fit_killed(*args, on_eval=None, **kwargs):
    def record(r):
      on_eval(r)
      if r["step"] >= kill_step:
        raise _Killed()
    return real_fit(*args, on_eval=record, **kwargs)

  workdir = tmp_path / "b"
  every = straight_steps[1]  # a checkpoint at the second check, none at the third
  monkeypatch.setattr(mnist_cifar, "fit", fit_killed)
  with pytest.raises(_Killed):
    mnist_cifar.run(smoke_config("mnist_cifar_ensemble", data_dir, checkpoint_every=every),
                    str(workdir))
  monkeypatch.setattr(mnist_cifar, "fit", real_fit)
  checkpoints = workdir / "checkpoints" / "A_resnet18"
  saved = sorted(int(s) for s in os.listdir(checkpoints) if s.isdigit())
  assert saved[-1] == straight_steps[1] < kill_step

  changed = smoke_config("mnist_cifar_ensemble", data_dir, checkpoint_every=every, resume=True,
                         **{"optim.learning_rate": 0.01})
  with pytest.raises(ConfigError, match="optim"):
    mnist_cifar.run(changed, str(workdir))

  resumed = mnist_cifar.run(smoke_config("mnist_cifar_ensemble", data_dir,
                                         checkpoint_every=every, resume=True), str(workdir))
  for metric, values in straight["per_seed"].items():
    assert resumed["per_seed"][metric] == values, metric
  # The checks after the checkpoint were logged by the killed run; they appear once.
  assert _logged_steps(workdir) == straight_steps


def _logged_steps(workdir):
  with open(os.path.join(workdir, "metrics.jsonl"), encoding="utf-8") as f:
    return [json.loads(line)["step"] for line in f]


def test_cifar_only_reports_accuracy_without_randomized_sets(data_dir, tmp_path):
  results = mnist_cifar.run(smoke_config("cifar_only", data_dir), str(tmp_path))
  row = results["rows"][0]
  assert {"test_acc", "test_auc"} <= set(row["summary"])
  assert "s_rand_auc" not in row["summary"] and "sc_rand_auc" not in row["summary"]
  assert row["params"]["variant"] == "A" and "automobile vs truck" in results["source"]
  [claim] = mnist_cifar.claims(results)
  assert claim["metric"] == "test_acc"
  assert claim["mean"] == pytest.approx(row["summary"]["test_acc"]["mean"])
