"""Cell sweeps (training choices, SB hurts generalization), the margin sweep and reproduce.py."""

import json
import os
import re

import numpy as np
import pytest

from conftest import REPO, find_row, ledger_claims, load_config, run_launch, set_fields
from simplicity_bias import pipeline
from simplicity_bias.experiments import (margin_sweep, sb_hurts_generalization,
                                         sb_training_choices)
from simplicity_bias.report.figures import heatmap_values
from simplicity_bias.report.reproduction import RECORD, collect, table
from simplicity_bias.validation import ConfigError


@pytest.mark.slow
def test_training_choices_grid_has_one_row_per_cell_and_a_heatmap(smoke_run):
  config, workdir, results = smoke_run("sb_training_choices")
  rows = [r for r in results["rows"] if r["params"]["grid"] == "init_scale"]
  assert [r["label"] for r in rows] == ["lms7 / kaiming x0.5", "lms7 / kaiming x2",
                                        "lms7 / xavier x0.5", "lms7 / xavier x2"]
  assert [r["label"] for r in results["rows"]] == [c.label for c in
                                                   sb_training_choices.cells(config)]
  for name in ("activation_optimizer_lms7", "dropout_weight_decay_depth1", "init_scale",
               "input_dim"):
    assert (workdir / f"heatmap_{name}.png").stat().st_size > 0, name
  # Each table in its own setting: LMS-7 throughout the smoke grids; Table 6 on the (100,2)-FCN,
  # Tables 8 and 9 on the (100,1)-FCN; Table 8's (d, |S^c|) with uniform-noise filler.
  cells = {c.label: c.config for c in sb_training_choices.cells(config)}
  assert {c.data.name for c in cells.values()} == {"lms7"}
  assert cells["lms7 / relu / sgd"].model.depth == 2
  assert cells["lms7 / kaiming x2"].model.depth == 1
  d10 = cells["lms7 d=10 |S^c|=3"]
  assert (d10.data.dim, d10.data.num_slabs, d10.data.filler, d10.model.depth) == \
      (10, 3, "uniform", 1)
  for row in rows:
    assert len(row["per_seed"]["s_rand_auc"]) == config.num_seeds
    assert abs(row["summary"]["s_rand_auc"]["mean"] - 0.5) < 0.1
  claims = ledger_claims("sb_training_choices", results)
  assert len(claims) == 2 * len(results["rows"]) and all(c["kind"] == "paper" for c in claims)
  assert any("Table 8" in c["statement"] for c in claims)


@pytest.mark.slow
def test_a_cell_equals_the_plain_experiment_with_the_same_overrides(smoke_run):
  """A cell is nothing but the synthetic experiment with its overrides applied: LMS-7, the
  (100,1)-FCN, the sweep's data and training settings and a Xavier x2 init give the
  "lms7 / xavier x2" row."""
  config, _, results = smoke_run("sb_training_choices")
  row = find_row(results, "lms7 / xavier x2")
  # One extra run (the smoke sweep's sizes and seeds): the plain experiment is a variant config.
  plain = load_config("lms5", "smoke")
  assert plain.experiment == "synthetic_sb"
  plain.evals, plain.num_seeds = ("sb",), config.num_seeds
  for field in ("num_train", "num_val", "num_test"):
    plain.data[field] = config.data[field]
  plain.train.stop_eps, plain.train.max_epochs = config.train.stop_eps, config.train.max_epochs
  plain.data.name, plain.model.width, plain.model.depth = "lms7", 100, 1
  plain.model.init, plain.model.init_scale = "xavier", 2.0
  assert plain.optim == config.optim and plain.seed == config.seed
  alone = pipeline.run(plain, "", progress=False)
  for metric in ("test_auc", "s_rand_auc", "sc_rand_auc", "updates"):
    np.testing.assert_allclose(row["per_seed"][metric], alone["per_seed"][metric], atol=1e-6)
  # ... while another cell's init scale gives other numbers.
  other = find_row(results, "lms7 / xavier x0.5")["per_seed"]
  assert any(not np.allclose(other[m], alone["per_seed"][m], atol=1e-6)
             for m in ("test_auc", "s_rand_auc", "sc_rand_auc", "updates"))


def test_bad_cells_are_rejected_before_training():
  config = load_config("sb_training_choices", "smoke")
  config.sweep.grids = ("activation_optimizer",)
  config.sweep.activations = ("relu", "swish")
  with pytest.raises(ConfigError, match="cell 'lms7 / swish / sgd'.*model.activation"):
    sb_training_choices.cells(config)
  config.sweep.grids = ("colour",)
  with pytest.raises(ConfigError, match="unknown grid 'colour'"):
    sb_training_choices.cells(config)
  config.sweep.grids = ()
  with pytest.raises(ConfigError, match="sweep.grids is empty"):
    sb_training_choices.cells(config)
  config.sweep.grids = ("init_scale",)
  config.sweep.init_scales = (2.0, 2.0)
  with pytest.raises(ConfigError, match="duplicate cells"):
    sb_training_choices.cells(config)
  with pytest.raises(ConfigError, match="no field 'nonexistent'"):
    pipeline.apply_overrides(config, {"train.nonexistent": 1})
  config.sweep.grids = ("input_dim",)
  config.sweep.dim_slabs = ((5, 5),)
  with pytest.raises(ConfigError, match=r"sweep.dim_slabs.*\(5, 5\)"):
    sb_training_choices.cells(config)


def test_extension_cells_are_reported_not_counted():
  config = load_config("sb_training_choices", "cpu")
  cells = {c.label: c for c in sb_training_choices.cells(config)}
  ext = cells["ms57 d=2 (extension)"]
  assert ext.params["extension"] and ext.config.data.name == "ms57" and ext.config.data.dim == 2
  # The MS-(5,7) cells of Table 6 keep 100k samples and 100 epochs (per-dataset override).
  assert cells["ms57 / relu / sgd"].config.data.num_train == 100_000
  assert cells["ms57 / relu / sgd"].config.train.max_epochs == 100
  assert cells["lms7 / relu / sgd"].config.data.num_train == config.data.num_train
  summary = {"mean": 0.6, "ci95": 0.01}
  rows = [{"label": label, "params": {**c.params, "grid": "input_dim"},
           "summary": {m: summary for m in ("s_rand_auc", "sc_rand_auc", "test_auc")},
           "per_seed": {m: [0.6] for m in ("s_rand_auc", "sc_rand_auc")}}
          for label, c in cells.items() if label in ("ms57 d=2 (extension)", "lms7 d=2 |S^c|=1")]
  claims = ledger_claims("sb_training_choices", {"rows": rows}, "cpu")
  kinds = {(c["row"], c["kind"]) for c in claims}
  assert kinds == {("lms7 d=2 |S^c|=1", "paper"), ("ms57 d=2 (extension)", "extension")}


@pytest.mark.slow
def test_sb_hurts_generalization_small_run(smoke_run):
  config, workdir, results = smoke_run("sb_hurts_generalization")
  noisy = find_row(results, "noisy_lms7 / fcn(100,1)")["summary"]
  # At the linear-only ceiling 1 - p/2 = .95, with the slabs ignored.
  assert 0.92 <= noisy["test_acc"]["mean"] <= 0.965
  assert abs(noisy["s_rand_acc"]["mean"] - 0.5) < 0.06
  assert abs(noisy["sc_rand_acc"]["mean"] - noisy["test_acc"]["mean"]) < 0.02
  ms7 = find_row(results, "ms7 / fcn(100,1)")
  assert "s_rand_acc" not in ms7["summary"]
  assert (workdir / "test_accuracy.png").stat().st_size > 0
  assert results["linear_ceiling"] == pytest.approx(1 - config.data.noise_frac / 2) == 0.95
  # Each cell trains with its dataset's optimizer settings; MS-7 has no noisy block.
  cells = {c.label: c.config for c in sb_hurts_generalization.cells(config)}
  assert cells["ms7 / fcn(100,1)"].optim.learning_rate == config.sweep.optim.ms7.learning_rate
  assert cells["ms7 / fcn(100,1)"].data.noise_frac is None
  assert cells["noisy_lms7 / fcn(100,1)"].data.noise_frac == 0.1
  # Per L̂MS-7 row: fits the training data (counted for every FCN row: Table 2 gives each row's
  # train accuracy), test and S^c-rand acc at the ceiling, S-rand ≈ .5 once at the ceiling.
  claims = ledger_claims("sb_hurts_generalization", results)
  noisy_claims = {c["metric"]: c for c in claims if c["row"] == "noisy_lms7 / fcn(100,1)"}
  assert sorted(noisy_claims) == ["s_rand_acc", "sc_rand_acc", "test_acc", "train_acc"]
  fit = noisy_claims["train_acc"]
  assert fit["kind"] == "paper" and "Table 2" in fit["published"]
  assert fit["per_seed"]["train_acc"] == find_row(results, "noisy_lms7 / fcn(100,1)")[
      "per_seed"]["train_acc"]
  assert "Table 2" in noisy_claims["test_acc"]["published"]


@pytest.mark.slow
def test_margin_sweep_is_one_program_with_a_row_per_grid_point(smoke_run):
  config, workdir, results = smoke_run("margin_sweep")
  assert len(results["rows"]) == 4 and results["timing"]["cells"] == 1
  assert all(r["timing"]["members"] == 4 * config.num_seeds for r in results["rows"])
  values, xs, ys = heatmap_values(results["rows"], "linear_margin", "slab_margin", "s_rand_auc")
  assert xs == [0.1, 0.4] and ys == [0.05, 0.1]
  row = find_row(results, "linear_margin=0.4,slab_margin=0.1")
  assert row["params"] == {"linear_margin": 0.4, "slab_margin": 0.1}
  assert values[1, 1] == row["summary"]["s_rand_auc"]["mean"]
  assert (workdir / "heatmap_s_rand_auc.png").stat().st_size > 0
  [claim] = ledger_claims("margin_sweep", results)
  assert claim["row"] == "linear_margin=0.1,slab_margin=0.1"
  config = set_fields(load_config("margin_sweep", "smoke"), **{"grid.width": (1.0,)})
  with pytest.raises(ConfigError, match="exactly two grid axes"):
    margin_sweep.cells(config)


@pytest.mark.slow
def test_reproduce_writes_the_claims_table(tmp_path):
  records = tmp_path / "records"
  proc = run_launch("reproduce.py", "--preset=smoke", "--only=lms5,margin_sweep",
                    f"--workdir={tmp_path}", f"--records={records}")
  assert proc.returncode == 0, proc.stderr[-2000:]
  table = (tmp_path / "REPRODUCTION.md").read_text()
  assert "| lms5: S-rand AUC ≈ .5 (`s_rand_auc`) | 0.507 (Pitfalls of SB" in table
  assert "`configs/margin_sweep.py` | smoke | reduced: " in table
  # Each run's record also went to --records: a work directory without runs renders the same.
  assert sorted(p.name for p in records.iterdir()) == ["lms5.json", "margin_sweep.json"]
  (tmp_path / "empty").mkdir()
  proc = run_launch("reproduce.py", "--render_only", f"--workdir={tmp_path / 'empty'}",
                    f"--records={records}", f"--output={tmp_path / 'again.md'}")
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert (tmp_path / "again.md").read_text() == table
  claims = json.loads((tmp_path / "claims.json").read_text())["claims"]
  saved = json.loads((tmp_path / "lms5" / "results.json").read_text())
  lms5 = [c for c in claims if c["metric"] == "s_rand_auc" and c["config"] == "lms5"]
  assert lms5[0]["mean"] == saved["summary"]["s_rand_auc"]["mean"]
  assert lms5[0]["per_seed"]["s_rand_auc"] == saved["per_seed"]["s_rand_auc"]
  record = json.loads((records / "lms5.json").read_text())
  assert "launch/reproduce.py --preset=smoke" in record["run"]["command"]
  assert record["run"]["setting"] == "reduced" and "load_start" in record["run"]
  # Runs accumulate: an image config whose data is missing is recorded as not run, and the
  # table still holds the earlier runs' claims (--data_dir replaces the smoke preset's mock data).
  empty = tmp_path / "no_tfds"
  empty.mkdir()
  proc = run_launch("reproduce.py", "--preset=smoke", "--only=mnist_cifar",
                    f"--workdir={tmp_path}", f"--data_dir={empty}")
  assert proc.returncode == 1, proc.stderr[-2000:]
  last = proc.stderr.strip().splitlines()[-1]
  assert last.startswith("error: 1 of 1 requested configs did not run") and last.endswith(
      ": mnist_cifar."), proc.stderr[-2000:]
  table = (tmp_path / "REPRODUCTION.md").read_text()
  assert "| lms5: S-rand AUC ≈ .5 (`s_rand_auc`) | 0.507 (Pitfalls of SB" in table
  assert f"not run: MNIST is not prepared in {empty}" in table
  assert "| `configs/cifar_only.py` | — | — | — | — | — | — | — | — | not run yet |" in table
  proc = run_launch("reproduce.py", "--only=lms6", f"--workdir={tmp_path}")
  assert proc.returncode == 2 and "unknown claim configs ['lms6']" in proc.stderr


def _without_render_date(text):
  return re.sub(r"\(rendered \d{4}-\d{2}-\d{2};", "(rendered DATE;", text)


def test_a_resumed_run_counts_the_training_time_of_its_earlier_segments(tmp_path):
  from simplicity_bias.report.reproduction import table, training_time_so_far
  assert training_time_so_far(str(tmp_path)) == 0.0  # nothing ran there yet
  lines = [{"cell": "A", "step": 10, "elapsed_s": 30.0},
           {"cell": "A", "step": 20, "elapsed_s": 70.0},
           {"cell": "B", "step": 10, "elapsed_s": 5.0},
           {"cell": "B", "step": 20, "elapsed_s": 2.0}]
  (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
  # A trained 70 s, B 5 s before its clock restarted (a run killed and resumed before the fix).
  assert training_time_so_far(str(tmp_path)) == 75.0
  run = {"name": "x", "wall_s": 120.0, "resumed_after_s": 75.0, "status": "ok"}
  assert "| 2.0 min (resumed) |" in table([], [run], {})


def test_committed_table_is_rendered_from_the_committed_records(tmp_path):
  """REPRODUCTION.md is exactly what reproduce.py renders from reproduction/*.json, so a
  hand edit of the table, or a record committed without its table, fails here."""
  from simplicity_bias.experiments import claim_configs
  from simplicity_bias.report import ledger
  from simplicity_bias.report.costs import table_cells
  names = [n for n, _ in claim_configs()]
  records = os.path.join(REPO, "reproduction")
  assert sorted(f[:-5] for f in os.listdir(records)
                if f.endswith(".json") and f not in ledger.NOT_RECORDS) == sorted(
      n for n in names if os.path.exists(os.path.join(records, f"{n}.json")))
  claims, runs = collect(str(tmp_path), names, records)
  costs = table_cells(names, records)
  with open(os.path.join(REPO, "REPRODUCTION.md"), encoding="utf-8") as f:
    committed = f.read()
  assert _without_render_date(table(claims, runs, costs)) == _without_render_date(committed)


def test_collect_prefers_the_work_directory_over_the_committed_records(tmp_path):
  def record(name, mean, preset):
    return {"claims": [{"claim": f"{name}: x", "metric": "m", "published": "1", "mean": mean,
                        "ci95": 0.0, "seeds": 2, "band": [0.0, 1.0], "pass": True}],
            "run": {"name": name, "preset": preset, "status": "ok"}}
  workdir, records = tmp_path / "w", tmp_path / "records"
  (workdir / "a").mkdir(parents=True)
  records.mkdir()
  (workdir / "a" / RECORD).write_text(json.dumps(record("a", 0.25, "cpu")))
  (records / "a.json").write_text(json.dumps(record("a", 0.75, "default")))
  (records / "b.json").write_text(json.dumps(record("b", 0.5, "default")))
  claims, runs = collect(str(workdir), ["a", "b", "c"], str(records))
  assert [c["mean"] for c in claims] == [0.25, 0.5]
  assert [r.get("preset") for r in runs] == ["cpu", "default", None]
  assert runs[2]["status"] == "not run yet"
  claims, runs = collect(str(workdir), ["a", "b"])
  assert [c["mean"] for c in claims] == [0.25] and runs[1]["status"] == "not run yet"
