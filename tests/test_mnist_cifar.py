"""The image experiment (experiments/mnist_cifar.py) end to end, without network.

Training runs read the generated mock data (simplicity_bias/data/mock.py) through the real loading
code: mock digits that show their class, and a mock "CIFAR" block of noise whose labels carry no
information, so a model that learns must learn the digits: its MNIST-randomized AUC falls to
chance while CIFAR-randomized AUC stays at the standard one — which checks that the randomized
sets permute the right rows. The evaluation
itself is checked against hand-built models that read one block only.
"""

import json
import os

import jax.numpy as jnp
import numpy as np
import pytest

from conftest import ledger_claims, run_launch, smoke_config
from simplicity_bias import evaluators, pipeline
from simplicity_bias.data import image_source, images
from simplicity_bias.evaluators.sb import SB_METRICS
from simplicity_bias.experiments import mnist_cifar
from simplicity_bias.members import Purpose, layout
from simplicity_bias.metrics.classification import auc_null_std
from simplicity_bias.models import build as build_model
from simplicity_bias.validation import ConfigError


# ------------------------------------------------------------------- evaluation, no training


def _two_block_test_set(n=600, seed=0):
  """Test images whose top and bottom blocks both carry the label (brightness shift)."""
  rng = np.random.default_rng(seed)
  y = rng.integers(0, 2, n).astype(np.int32)
  x = rng.uniform(0.0, 0.7, size=(n, 64, 32, 3)).astype(np.float32)
  x += 0.3 * y[:, None, None, None] * rng.uniform(0.5, 1.0, size=(n, 1, 1, 1)).astype(np.float32)
  return x, y


@pytest.mark.parametrize("block", ["simple", "complex"])
def test_randomized_sets_break_exactly_the_block_a_model_reads(block):
  """``sb`` on MNIST-CIFAR's DataInfo: randomizing the block a model reads is chance, the other
  block changes nothing (the model never sees it)."""
  info = image_source.info(smoke_config("mnist_cifar"))
  assert info.simple == images.SIMPLE_BLOCK and info.complex == images.COMPLEX_BLOCK
  x, y = _two_block_test_set()
  start, stop = images.SIMPLE_BLOCK if block == "simple" else images.COMPLEX_BLOCK
  # Two "models" that read only `block`: score = scale x mean brightness of its rows.
  scales = jnp.asarray([1.0, 2.0])

  def logits_fn(scale, xx):
    score = scale * jnp.mean(xx[:, start:stop], axis=(1, 2, 3))
    return jnp.stack([jnp.zeros_like(score), score], -1)

  runs = layout(seed=3, num_seeds=2)
  out = evaluators.evaluate(["sb"], logits_fn, scales, jnp.asarray(x), jnp.asarray(y), None,
                            runs.keys(Purpose.EVAL), info, {}, shared_data=True)
  assert set(SB_METRICS) <= set(out)
  assert np.all(out["test_auc"] > 0.9)
  broken, kept = ("s_rand", "sc_rand") if block == "simple" else ("sc_rand", "s_rand")
  null = float(auc_null_std(jnp.asarray(y)))
  np.testing.assert_array_less(np.abs(out[f"{broken}_auc"] - 0.5), 4 * null)
  np.testing.assert_array_equal(out[f"{kept}_auc"], out["test_auc"])
  np.testing.assert_array_equal(out[f"{kept}_acc"], out["test_acc"])
  # The broken block's rows come from other test images: the same scores, reordered.
  read = x[:, start:stop].mean(axis=(1, 2, 3))
  for m, scale in enumerate((1.0, 2.0)):
    moved = np.asarray(out["scores"][broken][m])
    np.testing.assert_allclose(np.sort(moved), np.sort(scale * read), rtol=1e-5)
    assert np.mean(np.isclose(moved, scale * read, rtol=1e-6)) < 0.05
  # Each run permutes with its own EVAL key.
  assert not np.allclose(out["scores"][broken][0], out["scores"][broken][1] / 2)


def test_sb_keeps_the_first_test_images_as_it_randomized_them():
  """With ``show_examples``, ``sb`` returns each model's first test images of every set: the
  standard ones, and the randomized ones with exactly the permutation its metrics used."""
  from simplicity_bias.data.randomize import permutation, randomize
  from simplicity_bias.evaluators.sb import _keys
  info = image_source.info(smoke_config("mnist_cifar"))
  x, y = _two_block_test_set()
  logits_fn = lambda scale, xx: jnp.stack([jnp.zeros(len(xx)), scale * jnp.mean(
      xx[:, :images.SIMPLE_BLOCK[1]], axis=(1, 2, 3))], -1)
  keys = layout(seed=3, num_seeds=2).keys(Purpose.EVAL)
  out = evaluators.evaluate(["sb"], logits_fn, jnp.asarray([1.0, 2.0]), jnp.asarray(x),
                            jnp.asarray(y), None, keys, info, {"show_examples": 5},
                            shared_data=True)
  shown = out["randomized_examples"]
  assert set(shown) == {"test", "s_rand", "sc_rand"}
  for m in range(2):
    np.testing.assert_array_equal(shown["test"][m], x[:5])
    for name, block, k in zip(("s_rand", "sc_rand"), ("simple", "complex"), _keys(keys[m])):
      by_hand = randomize(jnp.asarray(x), info, block, permutation(k, len(x)))[:5]
      np.testing.assert_array_equal(shown[name][m], np.asarray(by_hand))
  assert not np.array_equal(shown["s_rand"][0], shown["s_rand"][1])   # each run its own key
  plain = evaluators.evaluate(["sb"], logits_fn, jnp.asarray([1.0, 2.0]), jnp.asarray(x),
                              jnp.asarray(y), None, keys, info, {}, shared_data=True)
  assert "randomized_examples" not in plain
  np.testing.assert_array_equal(plain["s_rand_auc"], out["s_rand_auc"])


def test_cifar_only_data_has_no_block_to_randomize():
  """The CIFAR image is all of a CIFAR-only input: permuting it would shuffle whole images."""
  info = image_source.info(smoke_config("cifar_only"))
  assert not info.has("simple") and not info.has("complex")


def test_ensemble_rows_read_the_mean_logit_read_out_and_average_the_members():
  """With groups, a run's metric is its ensemble's (``metric@mean_logits``) and
  ``member_<metric>`` the mean over its members."""
  from simplicity_bias.members import layout
  evals = {"test_acc": np.arange(6.0), "test_acc@mean_logits": np.array([10.0, 20.0]),
           "scores@mean_logits": {"test": np.zeros((2, 3))}, "auc_null_std": np.ones(6)}
  outcome = type("Outcome", (), {"layout": layout(0, 2, slots=3), "evals": evals})
  out = mnist_cifar._per_run(outcome)
  np.testing.assert_array_equal(out["test_acc"], [10.0, 20.0])
  np.testing.assert_array_equal(out["member_test_acc"], [1.0, 4.0])
  assert set(out) == {"test_acc", "scores", "member_test_acc"}


def test_bad_configs_are_rejected_before_loading_data(tmp_path):
  """``cells`` checks everything without touching data: ``tmp_path`` holds no dataset."""
  empty = {"data.data_dir": str(tmp_path)}
  with pytest.raises(ConfigError, match="resnet50"):  # the message lists the image models
    mnist_cifar.cells(smoke_config("mnist_cifar", **empty, **{"model.name": "fcn"}))
  with pytest.raises(ConfigError, match="data.variant"):
    mnist_cifar.cells(smoke_config("mnist_cifar", **empty, **{"data.variant": "D"}))
  with pytest.raises(ConfigError, match="contradict"):
    mnist_cifar.cells(smoke_config("mnist_cifar", **empty, resume=True, overwrite=True))
  with pytest.raises(ConfigError, match="group_size"):
    mnist_cifar.cells(smoke_config("mnist_cifar", **empty, **{"members.group_size": 0}))
  with pytest.raises(ConfigError, match="batch_size"):
    mnist_cifar.cells(smoke_config("mnist_cifar", **empty, **{"data.num_train": 8}))
  with pytest.raises(ConfigError, match="cell 'A vgg99'"):
    mnist_cifar.cells(smoke_config("mnist_cifar", **empty, **{"sweep.models": "resnet18,vgg99",
                                                               "sweep.variants": "A,B"}))
  cells = mnist_cifar.cells(smoke_config("mnist_cifar", **empty, **{
      "sweep.models": "resnet18,vgg11", "sweep.variants": "A,C"}))
  assert [cell.label for cell in cells] == ["A resnet18", "C resnet18", "A vgg11", "C vgg11"]
  assert [cell.config.data.variant for cell in cells] == ["A", "C", "A", "C"]
  # A swept model starts from its own defaults, not the base model's fields (the smoke
  # ResNet's base_width=4 would not apply to a VGG).
  assert cells[0].config.model.base_width == 4
  vgg = cells[2].config.model
  assert vgg.name == "vgg11"
  assert all(v is None for k, v in vgg.items() if k != "name"), vgg
  build_model(vgg, "image")  # no ResNet field reaches the VGG's builder


def test_missing_dataset_exits_with_one_sentence(tmp_path):
  empty = tmp_path / "tfds"
  empty.mkdir()
  proc = run_launch("train.py", "--config=configs/mnist_cifar.py:smoke",
                    f"--workdir={tmp_path / 'w'}", f"--config.data.data_dir={empty}")
  assert proc.returncode == 2, proc.stderr[-2000:]
  message = proc.stderr.strip().splitlines()[-1]
  assert message.startswith("error: MNIST is not prepared in " + str(empty)), message
  assert "launch/build_datasets.py --datasets=mnist" in message
  assert not os.path.exists(tmp_path / "w" / "results.json")


# ------------------------------------------------------------------- training under mock data


@pytest.mark.slow
def test_model_learns_the_digits_and_ignores_the_noise_block(smoke_run):
  config, workdir, results = smoke_run("mnist_cifar")
  row = results["rows"][0]
  assert set(SB_METRICS) <= set(row["summary"])
  assert all(len(row["per_seed"][m]) == config.num_seeds for m in SB_METRICS)
  s = {m: np.asarray(row["per_seed"][m]) for m in SB_METRICS}
  assert np.all(s["test_auc"] > 0.9), s
  # The mock CIFAR block is noise: randomizing it changes nothing, randomizing digits is chance.
  np.testing.assert_allclose(s["sc_rand_auc"], s["test_auc"], atol=0.1)
  assert np.all(np.abs(s["s_rand_auc"] - 0.5) < 4 * row["auc_null_std"]), s
  for name in ("results.json", "results.csv", "config.json", "metrics.jsonl", "report.md",
               "auc.png", "examples.png", "score_histograms.png"):
    assert os.path.getsize(workdir / name) > 0, name
  report = (workdir / "report.md").read_text()
  assert "NOT MNIST" in report and "not MNIST" in results["source"]
  claims = ledger_claims("mnist_cifar", results)
  assert [c["metric"] for c in claims] == ["test_auc", "s_rand_auc", "sc_rand_auc"]
  assert claims[1]["mean"] == pytest.approx(row["summary"]["s_rand_auc"]["mean"])


class _Killed(Exception):
  pass


@pytest.mark.slow
def test_killed_ensemble_run_resumes_to_the_same_numbers(smoke_run, tmp_path, monkeypatch):
  _, straight_dir, straight = smoke_run("mnist_cifar_ensemble")
  row = straight["rows"][0]
  assert len(row["per_seed"]["test_auc"]) == 2  # two ensembles of two members
  assert "member_s_rand_auc" in row["summary"]

  real_fit = pipeline.fit
  straight_steps = _logged_steps(straight_dir)
  assert len(straight_steps) >= 4
  kill_step = straight_steps[2]  # after three checks; the run has more

  def fit_killed(*args, on_eval=None, **kwargs):
    def record(r):
      on_eval(r)
      if r["step"] >= kill_step:
        raise _Killed()
    return real_fit(*args, on_eval=record, **kwargs)

  workdir = tmp_path / "b"
  # A checkpoint at every check: the last one before the kill is at the second check.
  config = lambda **kw: smoke_config("mnist_cifar_ensemble",  # noqa: E731
                                     checkpoint_every_s=0.0, **kw)
  monkeypatch.setattr(pipeline, "fit", fit_killed)
  with pytest.raises(_Killed):
    pipeline.run(config(), str(workdir), progress=False)
  monkeypatch.setattr(pipeline, "fit", real_fit)
  checkpoints = workdir / "checkpoints" / "A_resnet18"
  saved = sorted(int(s) for s in os.listdir(checkpoints) if s.isdigit())
  assert saved[-1] == straight_steps[1] < kill_step
  assert not (workdir / "results.json").exists()

  with pytest.raises(ConfigError, match="optim"):
    pipeline.run(config(resume=True, **{"optim.learning_rate": 0.01}), str(workdir),
                 progress=False)

  resumed = pipeline.run(config(resume=True), str(workdir), progress=False)
  for metric, values in straight["per_seed"].items():
    assert resumed["per_seed"][metric] == values, metric
  # The checks after the checkpoint were logged by the killed run; they appear once.
  assert _logged_steps(workdir) == straight_steps


def _logged_steps(workdir):
  with open(os.path.join(workdir, "metrics.jsonl"), encoding="utf-8") as f:
    return [json.loads(line)["step"] for line in f]


@pytest.mark.slow
def test_cifar_only_reports_accuracy_without_randomized_sets(smoke_run):
  _, _, results = smoke_run("cifar_only")
  row = results["rows"][0]
  assert {"test_acc", "test_auc"} <= set(row["summary"])
  assert "s_rand_auc" not in row["summary"] and "sc_rand_auc" not in row["summary"]
  assert row["params"]["variant"] == "A" and "automobile vs truck" in results["source"]
  [claim] = ledger_claims("cifar_only", results)
  assert claim["metric"] == "test_acc"
  assert claim["mean"] == pytest.approx(row["summary"]["test_acc"]["mean"])
