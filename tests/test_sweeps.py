"""Cell sweeps (training choices, SB hurts generalization), the margin sweep and reproduce.py."""

import json

import numpy as np
import pytest

from conftest import load_config, run_launch
from simplicity_bias.experiments import (common, margin_sweep, sb_hurts_generalization,
                                         sb_training_choices, synthetic_sb)
from simplicity_bias.validation import ConfigError


def test_training_choices_grid_has_one_row_per_cell_and_a_heatmap(tmp_path):
  config = load_config("sb_training_choices", "smoke")
  config.sweep.grids = ("init_scale",)
  results = sb_training_choices.run(config, str(tmp_path), progress=False)
  labels = [r["label"] for r in results["rows"]]
  assert labels == ["kaiming x0.5", "kaiming x2", "xavier x0.5", "xavier x2"]
  assert (tmp_path / "heatmap_init_scale.png").stat().st_size > 0
  for row in results["rows"]:
    assert len(row["per_seed"]["s_rand_auc"]) == config.num_seeds
    assert abs(row["summary"]["s_rand_auc"]["mean"] - 0.5) < 0.1
  assert all({"claim", "mean", "band", "pass"} <= set(c) for c in
             sb_training_choices.claims(results))


def test_a_cell_equals_the_plain_experiment_with_the_same_overrides():
  """A cell is nothing but the synthetic experiment with its overrides applied."""
  config = load_config("sb_training_choices", "smoke")
  config.num_seeds = 1
  config.sweep.grids = ("init_scale",)
  config.sweep.inits = ("xavier",)
  config.sweep.init_scales = (2.0,)
  rows, _, _ = common.run_cells(config, sb_training_choices.cells_of(config, "init_scale"),
                                progress=False)
  plain = load_config("lms5", "smoke")
  plain.num_seeds = 1
  plain.eval.coordinatewise = False
  plain.data.num_train, plain.data.num_val, plain.data.num_test = (
      config.data.num_train, config.data.num_val, config.data.num_test)
  plain.train.stop_eps, plain.train.max_epochs = config.train.stop_eps, config.train.max_epochs
  plain.model.init, plain.model.init_scale = "xavier", 2.0
  alone = synthetic_sb.run(plain, "", progress=False)
  for metric in ("test_auc", "s_rand_auc", "sc_rand_auc", "updates"):
    np.testing.assert_allclose(rows[0]["per_seed"][metric], alone["per_seed"][metric], atol=1e-6)


def test_bad_cells_are_rejected_before_training():
  config = load_config("sb_training_choices", "smoke")
  config.sweep.grids = ("activation_optimizer",)
  config.sweep.activations = ("relu", "swish")
  with pytest.raises(ConfigError, match="cell 'swish / sgd'.*model.activation"):
    sb_training_choices.validate(config)
  config.sweep.grids = ("colour",)
  with pytest.raises(ConfigError, match="unknown grid 'colour'"):
    sb_training_choices.validate(config)
  with pytest.raises(ConfigError, match="no field 'nonexistent'"):
    common.apply_overrides(config, {"train.nonexistent": 1})


def test_sb_hurts_generalization_small_run(tmp_path):
  results = sb_hurts_generalization.run(load_config("sb_hurts_generalization", "smoke"),
                                        str(tmp_path), progress=False)
  noisy = common.find_row(results, "noisy_lms7 / fcn(100,1)")["summary"]
  # At the linear-only ceiling 1 - p/2 = .95, with the slabs ignored.
  assert 0.92 <= noisy["test_acc"]["mean"] <= 0.965
  assert abs(noisy["s_rand_acc"]["mean"] - 0.5) < 0.06
  assert abs(noisy["sc_rand_acc"]["mean"] - noisy["test_acc"]["mean"]) < 0.02
  assert "s_rand_acc" not in common.find_row(results, "ms7 / fcn(100,1)")["summary"]
  assert (tmp_path / "test_accuracy.png").stat().st_size > 0
  assert results["linear_ceiling"] == pytest.approx(0.95)


def test_margin_sweep_is_one_program_with_a_row_per_grid_point(tmp_path):
  config = load_config("margin_sweep", "smoke")
  results = margin_sweep.run(config, str(tmp_path), progress=False)
  assert len(results["rows"]) == 4
  assert results["timing"]["members"] == 4 * config.num_seeds
  values, xs, ys = common.heatmap_values(results["rows"], "linear_margin", "slab_margin",
                                         "s_rand_auc")
  assert xs == [0.1, 0.4] and ys == [0.05, 0.1]
  row = common.find_row(results, "linear_margin=0.4,slab_margin=0.1")
  assert values[1, 1] == row["summary"]["s_rand_auc"]["mean"]
  assert (tmp_path / "heatmap_s_rand_auc.png").stat().st_size > 0
  [claim] = margin_sweep.claims(results)
  assert claim["row"] == "linear_margin=0.1,slab_margin=0.1"
  config.grid.width = (1.0,)
  with pytest.raises(ConfigError, match="exactly two grid axes"):
    margin_sweep.validate(config)


def test_reproduce_writes_the_claims_table(tmp_path):
  proc = run_launch("reproduce.py", "--preset=smoke", "--only=lms5,margin_sweep",
                    f"--workdir={tmp_path}")
  assert proc.returncode == 0, proc.stderr[-2000:]
  table = (tmp_path / "REPRODUCTION.md").read_text()
  assert "| lms5: S-rand AUC ≈ .5 (`s_rand_auc`) | 0.507 |" in table
  assert "`configs/margin_sweep.py` | smoke" in table
  claims = json.loads((tmp_path / "claims.json").read_text())["claims"]
  saved = json.loads((tmp_path / "lms5" / "results.json").read_text())
  lms5 = [c for c in claims if c["metric"] == "s_rand_auc" and c["experiment"] == "synthetic_sb"]
  assert lms5[0]["mean"] == saved["summary"]["s_rand_auc"]["mean"]
  # Runs accumulate: an image config whose data is missing is recorded as not run, and the
  # table still holds the earlier runs' claims.
  empty = tmp_path / "no_tfds"
  empty.mkdir()
  proc = run_launch("reproduce.py", "--preset=smoke", "--only=mnist_cifar",
                    f"--workdir={tmp_path}", env={"TFDS_DATA_DIR": str(empty)})
  assert proc.returncode == 0, proc.stderr[-2000:]
  table = (tmp_path / "REPRODUCTION.md").read_text()
  assert "| lms5: S-rand AUC ≈ .5 (`s_rand_auc`) | 0.507 |" in table
  assert f"not run: CIFAR-10 is not prepared in {empty}" in table
  assert "| `configs/cifar_only.py` | — | — | — | — | not run yet |" in table
  proc = run_launch("reproduce.py", "--only=lms6", f"--workdir={tmp_path}")
  assert proc.returncode == 2 and "unknown claims" in proc.stderr
