"""The synthetic SB experiment end to end: the published effect on LMS-5 and MS-(5,7), the
results contract, determinism, and grid points = separate runs."""

import csv
import json
import os

import numpy as np
import pytest

from conftest import find_row, load_config, set_fields
from simplicity_bias import pipeline
from simplicity_bias.evaluators.sb import SB_METRICS


def test_lms5_small_run_shows_extreme_simplicity_bias(smoke_run):
  """Published effect: S-rand AUC ~ 0.5, S^c-rand AUC ~ 1 (the 49 slabs are ignored)."""
  _, _, results = smoke_run("lms5")
  s = results["summary"]
  assert s["test_auc"]["mean"] >= 0.99
  assert abs(s["s_rand_auc"]["mean"] - 0.5) <= 0.05
  assert s["sc_rand_auc"]["mean"] >= 0.99
  coord = np.asarray(results["rows"][0]["coord_rand_acc"]["mean"])
  assert coord.shape == (50,)
  assert abs(coord[0] - 0.5) <= 0.06 and coord[1:].min() >= 0.98


@pytest.mark.slow
def test_ms57_small_run_shows_extreme_simplicity_bias(smoke_run):
  _, _, results = smoke_run("ms57")
  s = results["summary"]
  assert s["test_auc"]["mean"] >= 0.99
  assert abs(s["s_rand_auc"]["mean"] - 0.5) <= 0.05
  assert s["sc_rand_auc"]["mean"] >= 0.99


def test_results_files_follow_the_contract(smoke_run):
  config, workdir, results = smoke_run("lms5")
  for name in ("config.json", "results.json", "results.csv", "metrics.jsonl", "report.md",
               "score_histograms.png", "coordinate_randomized_acc.png",
               "decision_boundary.png"):
    assert os.path.getsize(os.path.join(workdir, name)) > 0, name
  with open(os.path.join(workdir, "results.json")) as f:
    saved = json.load(f)
  assert saved["experiment"] == "synthetic_sb"
  assert saved["per_seed"] == json.loads(json.dumps(results["per_seed"]))
  for key in SB_METRICS:
    values = saved["per_seed"][key]
    assert len(values) == config.num_seeds
    assert saved["summary"][key]["mean"] == pytest.approx(np.mean(values))
    assert saved["summary"][key]["ci95"] > 0
  assert set(saved["rows"][0]["timing"]) >= {"data_s", "train_s", "eval_s"}
  assert saved["rows"][0]["seeds"] == [config.seed + s for s in range(config.num_seeds)]
  with open(os.path.join(workdir, "results.csv")) as f:
    rows = list(csv.DictReader(f))
  assert len(rows) == 1 and float(rows[0]["s_rand_auc_mean"]) == pytest.approx(
      saved["summary"]["s_rand_auc"]["mean"], abs=1e-5)
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    records = [json.loads(line) for line in f]
  assert records and all(len(r["train_acc"]) == config.num_seeds for r in records)
  assert records[-1]["num_updates"] == [int(u) for u in saved["per_seed"]["updates"]]
  report = open(os.path.join(workdir, "report.md")).read()
  assert "s_rand_auc" in report and "decision_boundary.png" in report


@pytest.mark.slow
def test_same_config_and_seed_give_identical_numbers():
  # A tiny variant of the LMS-5 smoke config, run twice: data, init, shuffles and the test
  # permutations all come from the seed.
  config = lambda: set_fields(load_config("lms5", "smoke"), **{  # noqa: E731
      "num_seeds": 2, "data.num_train": 1_000, "data.num_val": 200, "data.num_test": 500,
      "train.max_epochs": 3, "evals": ("sb", "coordinatewise")})
  first = pipeline.run(config(), "", progress=False)
  again = pipeline.run(config(), "", progress=False)
  assert set(SB_METRICS) | {"train_acc", "updates"} <= set(first["per_seed"])
  assert again["per_seed"] == first["per_seed"]
  assert again["rows"][0]["coord_rand_acc"] == first["rows"][0]["coord_rand_acc"]


@pytest.mark.slow
def test_grid_rows_equal_separate_runs(smoke_run):
  """A vmapped grid point gives the numbers of a run with that parameter set alone."""
  config, _, grid = smoke_run("margin_sweep")
  assert "s_rand_auc[linear_margin=0.4,slab_margin=0.1]" in grid["summary"]
  point = find_row(grid, "linear_margin=0.4,slab_margin=0.1")
  # The same settings as one plain LMS-5 run at that point (a variant: no grid).
  alone_config = set_fields(load_config("margin_sweep", "smoke"), **{
      "experiment": "synthetic_sb", "grid.linear_margin": (), "grid.slab_margin": (),
      "data.linear_margin": 0.4, "data.slab_margin": 0.1})
  alone = pipeline.run(alone_config, "", progress=False)
  assert [r["label"] for r in alone["rows"]] == ["all"]
  for key in SB_METRICS + ("updates",):
    np.testing.assert_allclose(point["per_seed"][key], alone["per_seed"][key], atol=1e-5,
                               err_msg=key)
  # Another grid point (another slab margin) is another dataset: other numbers.
  other = find_row(grid, "linear_margin=0.4,slab_margin=0.05")
  assert any(not np.allclose(other["per_seed"][k], alone["per_seed"][k], atol=1e-5)
             for k in SB_METRICS)
