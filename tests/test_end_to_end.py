"""Small end-to-end runs: the published effect, the results contract, the command line."""

import csv
import json
import os

import jax
import numpy as np
import pytest

from conftest import load_config, run_launch
from simplicity_bias.data import synthetic
from simplicity_bias.experiments import synthetic_sb

SB_KEYS = ("test_acc", "test_auc", "s_rand_acc", "s_rand_auc", "sc_rand_acc", "sc_rand_auc")


@pytest.fixture(scope="module")
def lms5_run(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("lms5"))
  results = synthetic_sb.run(load_config("lms5", "smoke"), workdir, progress=False)
  return workdir, results


def test_lms5_small_run_shows_extreme_simplicity_bias(lms5_run):
  """Published effect: S-rand AUC ~ 0.5, S^c-rand AUC ~ 1 (the 49 slabs are ignored)."""
  _, results = lms5_run
  s = results["summary"]
  assert s["test_auc"]["mean"] >= 0.99
  assert abs(s["s_rand_auc"]["mean"] - 0.5) <= 0.05
  assert s["sc_rand_auc"]["mean"] >= 0.99
  coord = np.asarray(results["rows"][0]["coord_rand_acc"]["mean"])
  assert coord.shape == (50,)
  assert abs(coord[0] - 0.5) <= 0.06 and coord[1:].min() >= 0.98


def test_ms57_small_run_shows_extreme_simplicity_bias():
  results = synthetic_sb.run(load_config("ms57", "smoke"), "", progress=False)
  s = results["summary"]
  assert s["test_auc"]["mean"] >= 0.99
  assert abs(s["s_rand_auc"]["mean"] - 0.5) <= 0.05
  assert s["sc_rand_auc"]["mean"] >= 0.99


def test_results_files_follow_the_contract(lms5_run):
  workdir, results = lms5_run
  for name in ("config.json", "results.json", "results.csv", "metrics.jsonl", "report.md",
               "score_histograms.png", "coordinate_randomized_acc.png",
               "decision_boundary.png"):
    assert os.path.getsize(os.path.join(workdir, name)) > 0, name
  with open(os.path.join(workdir, "results.json")) as f:
    saved = json.load(f)
  assert saved["experiment"] == "synthetic_sb"
  num_seeds = load_config("lms5", "smoke").num_seeds
  for key in SB_KEYS:
    values = saved["per_seed"][key]
    assert len(values) == num_seeds
    assert saved["summary"][key]["mean"] == pytest.approx(np.mean(values))
    assert saved["summary"][key]["ci95"] > 0
  assert set(saved["timing"]) >= {"data_s", "train_s", "eval_s"}
  with open(os.path.join(workdir, "results.csv")) as f:
    rows = list(csv.DictReader(f))
  assert len(rows) == 1 and float(rows[0]["s_rand_auc_mean"]) == pytest.approx(
      saved["summary"]["s_rand_auc"]["mean"], abs=1e-5)
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    records = [json.loads(line) for line in f]
  assert records and all(len(r["train_acc"]) == num_seeds for r in records)
  report = open(os.path.join(workdir, "report.md")).read()
  assert "s_rand_auc" in report and "decision_boundary.png" in report


def test_same_config_and_seed_give_identical_numbers(lms5_run):
  _, first = lms5_run
  again = synthetic_sb.run(load_config("lms5", "smoke"), "", progress=False)
  assert again["per_seed"] == first["per_seed"]


def test_grid_rows_equal_separate_runs():
  """A vmapped grid point gives the same numbers as a run with that parameter set alone."""
  config = load_config("lms5", "smoke")
  config.num_seeds = 2
  config.eval.coordinatewise = False
  config.grid.slab_margin = [0.05, 0.2]
  grid = synthetic_sb.run(config, "", progress=False)
  assert [r["label"] for r in grid["rows"]] == ["slab_margin=0.05", "slab_margin=0.2"]
  assert "s_rand_auc[slab_margin=0.2]" in grid["summary"]
  alone_config = load_config("lms5", "smoke")
  alone_config.num_seeds = 2
  alone_config.eval.coordinatewise = False
  alone_config.data.slab_margin = 0.2
  alone = synthetic_sb.run(alone_config, "", progress=False)
  for key in SB_KEYS:
    np.testing.assert_allclose(grid["rows"][1]["per_seed"][key], alone["per_seed"][key],
                               atol=1e-5)


def test_command_line_run_and_export(tmp_path):
  """launch/train.py writes the contract files; export_dataset.py writes the member's data."""
  workdir = tmp_path / "run"
  proc = run_launch("train.py", "--config=configs/lms5.py:smoke", f"--workdir={workdir}",
                    "--config.num_seeds=2", "--config.eval.coordinatewise=False")
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert (workdir / "results.json").exists() and (workdir / "report.md").exists()

  out = tmp_path / "lms5.npz"
  proc = run_launch("export_dataset.py", "--config=configs/lms5.py:smoke", f"--output={out}",
                    "--member=1")
  assert proc.returncode == 0, proc.stderr[-2000:]
  arrays = np.load(out)
  config = load_config("lms5", "smoke")
  d = config.data
  assert arrays["x_train"].shape == (d.num_train, 50)
  assert arrays["y_train"].shape == (d.num_train,)
  assert arrays["x_test"].shape == (d.num_test, 50) and arrays["y_test"].shape == (d.num_test,)
  assert arrays["rotation"].shape == (50, 50)
  np.testing.assert_allclose(arrays["rotation"] @ arrays["rotation"].T, np.eye(50), atol=1e-5)
  assert arrays["simple_coords"].tolist() == [0]
  assert arrays["complex_coords"].tolist() == list(range(1, 50))
  # The exported member is the dataset member 1 (seed + 1) trains on.
  spec = synthetic.spec_from_config(config.data)
  key = jax.random.fold_in(jax.random.key(config.seed + 1), synthetic_sb._DATA)
  expected = synthetic.make_dataset(spec, key, synthetic.params_from_config(spec, config.data))
  np.testing.assert_allclose(arrays["x_test"], np.asarray(expected.x_test), atol=1e-6)
  z = arrays["x_train"] @ arrays["rotation"].T
  assert np.all(np.sign(z[:, 0]) == 2 * arrays["y_train"] - 1)  # the linear coordinate


BAD_INPUTS = [
    (["--config.data.name=custom", "--config.data.blocks=linear:1:simple,spiral:49:complex"],
     "unknown kind 'spiral'"),
    (["--config.data.name=custom", "--config.data.blocks=linear:1:simple,slab4:49:complex"],
     "k must be one of"),
    (["--config.data.slab_margin=0.3"], "no room for the slabs"),
    (["--config.data.linear_margin=1.5"], "must be smaller than the width"),
    (["--config.data.num_train=-5"], "data.num_train"),
    (["--config.data.dim=20", "--config.data.num_slabs=49"],
     "data.dim=20 is smaller than the 50 feature"),
    (["--config.train.batch_size=100000"], "larger than the training set"),
    (["--config.model.name=transformer"], "unknown model model.name='transformer'"),
    (["--config.optim.name=lbfgs"], "optim.name='lbfgs' is unknown"),
    (["--config.data.name=lms9"], "unknown dataset data.name='lms9'"),
]


@pytest.mark.parametrize("overrides,message", BAD_INPUTS)
def test_bad_input_exits_with_one_clear_sentence(tmp_path, overrides, message):
  proc = run_launch("train.py", "--config=configs/lms5.py:smoke", f"--workdir={tmp_path}",
                    *overrides, timeout=120)
  assert proc.returncode == 2, proc.stderr[-2000:]
  error_lines = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
  assert len(error_lines) == 1 and message in error_lines[0], proc.stderr[-2000:]
  assert not (tmp_path / "results.json").exists()


def test_nan_loss_exits_without_results(tmp_path):
  (tmp_path / "results.json").write_text("{}")  # a stale file from an earlier run
  proc = run_launch("train.py", "--config=configs/lms5.py:smoke", f"--workdir={tmp_path}",
                    "--config.optim.learning_rate=1e12", "--config.num_seeds=1", timeout=300)
  assert proc.returncode == 3, proc.stderr[-2000:]
  assert "NaN/inf" in proc.stderr
  assert not (tmp_path / "results.json").exists()
