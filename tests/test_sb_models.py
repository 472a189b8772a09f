"""Extreme SB across models (sb_models): cells, validation, and the smoke run end to end."""

import json
import os

import pytest

from conftest import expected_verdict, find_row, ledger_claims, load_config, run_launch
from simplicity_bias.data import synthetic
from simplicity_bias.experiments import get_experiment, sb_models
from simplicity_bias.models import build as build_model
from simplicity_bias.validation import ConfigError


def test_default_cells_are_the_papers():
  config = load_config("sb_models")
  assert get_experiment(config.experiment) is sb_models
  cells = sb_models.cells(config)
  labels = [c.label for c in cells]
  models = ["fcn(100,1)", "fcn(100,2)", "cnn1d(32,7,1)", "cnn1d(32,7,2)", "gru(100,10,1)",
            "gru(100,10,2)"]
  assert labels == ([f"lms5 / {m}" for m in models] + [f"ms57 / {m}" for m in models]
                    + ["ms57 d=50 / fcn(2000,1)", "ms57 d=250 / fcn(2000,1)",
                       "lms5 d=50 / fcn(2000,1)", "lms5 d=250 / fcn(2000,1)"])
  # Fig. 3(b)'s wide FCN is on MS-(5,7) (|S^c| = 49, 249); on LMS-5 it is an extension.
  by_label_params = {c.label: c.params for c in cells}
  assert not by_label_params["ms57 d=250 / fcn(2000,1)"].get("extension")
  assert by_label_params["lms5 d=250 / fcn(2000,1)"]["extension"]
  ms57_wide = synthetic.spec_from_config(
      next(c.config for c in cells if c.label == "ms57 d=250 / fcn(2000,1)").data)
  assert ms57_wide.dim == 250 and len(ms57_wide.complex_coords) == 249
  assert config.optim.name == "sgd" and config.optim.learning_rate == 0.1
  assert config.optim.weight_decay == 5e-5 and config.train.batch_size == 256
  assert config.train.stop_eps == 1e-4 and config.num_seeds >= 8
  by_label = {c.label: c.config for c in cells}
  ms57 = by_label["ms57 / gru(100,10,2)"]
  assert ms57.data.name == "ms57" and ms57.train.max_epochs == 200  # the dataset's section
  assert ms57.data.num_train == 100_000 and ms57.data.num_test == 50_000
  gru = build_model(ms57.model, "vector")
  assert (type(gru).__name__, gru.hidden, gru.step_size, gru.layers) == ("GRU", 100, 10, 2)
  assert by_label["lms5 / gru(100,10,2)"].train.max_epochs == 100
  lms5 = by_label["lms5 / cnn1d(32,7,1)"]
  assert lms5.data.num_train == 100_000 and lms5.data.num_test == 10_000
  wide = by_label["lms5 d=250 / fcn(2000,1)"]
  spec = synthetic.spec_from_config(wide.data)
  assert spec.dim == 250 and len(spec.simple_coords) == 1 and len(spec.complex_coords) == 249
  assert wide.model.width == 2000 and wide.model.depth == 1


@pytest.mark.parametrize("field,good,spec,message", [
    ("models", "fcn:100:1", "cnn1d:32:7", "needs 3 sizes"),
    ("models", "fcn:100:1", "transformer:4:2", "unknown model kind 'transformer'"),
    ("models", "fcn:100:1", "gru:100:ten:1", "not an integer"),
    ("models", "fcn:100:1", "fcn:0:1", "out of range"),
    ("models", "fcn:100:1", "cnn1d:32:0:1", "out of range"),
    ("optimizers", "sgd:0.1", "adamw:0.001", "must read <name>:<learning rate>"),
    ("optimizers", "sgd:0.1", "adam", "must read <name>:<learning rate>"),
    ("optimizers", "sgd:0.1", "sgd:fast", "must be a number > 0"),
    ("optimizers", "sgd:0.1", "sgd:-0.1", "must be a number > 0"),
])
def test_bad_model_or_optimizer_spec_is_a_config_error(field, good, spec, message):
  config = load_config("sb_models", "smoke")
  config.sweep[field] = (good, spec)
  with pytest.raises(ConfigError, match=message):
    sb_models.cells(config)


def test_gru_step_size_must_divide_dim():
  config = load_config("sb_models", "smoke")
  config.sweep.models = ("gru:16:7:1",)
  with pytest.raises(ConfigError, match=r"cell 'lms5 / gru\(16,7,1\)'.*data\.dim=50 is not "
                                        r"divisible by model\.step_size=7"):
    sb_models.cells(config)


def test_bad_cell_fields_name_the_cell():
  config = load_config("sb_models", "smoke")
  config.sweep.per_model.cnn1d = {"model": {"activation": "swish"}}
  with pytest.raises(ConfigError, match=r"cell 'lms5 / cnn1d\(8,7,1\)'.*model\.activation"):
    sb_models.cells(config)
  config = load_config("sb_models", "smoke")
  config.sweep.per_model.rnn = {"train": {"max_epochs": 3}}
  with pytest.raises(ConfigError, match="sweep.per_model.rnn"):
    sb_models.cells(config)
  config = load_config("sb_models", "smoke")
  config.sweep.per_dataset.lms5 = {"per_model": {"lstm": {"train": {"max_epochs": 3}}}}
  with pytest.raises(ConfigError, match="sweep.per_dataset.lms5.per_model.lstm"):
    sb_models.cells(config)


def test_bad_spec_exits_2_on_the_command_line(tmp_path):
  proc = run_launch("train.py", "--config=configs/sb_models.py:smoke", f"--workdir={tmp_path}",
                    "--config.sweep.models=('cnn1d:32:7',)", timeout=120)
  assert proc.returncode == 2, proc.stderr[-2000:]
  errors = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
  assert len(errors) == 1 and "needs 3 sizes" in errors[0]
  assert not (tmp_path / "results.json").exists()


@pytest.mark.slow
def test_smoke_run_writes_rows_figure_and_report(smoke_run):
  config, workdir, results = smoke_run("sb_models")
  assert results["experiment"] == "sb_models"
  labels = [r["label"] for r in results["rows"]]
  assert labels == [c.label for c in sb_models.cells(config)]
  assert any("cnn1d" in l for l in labels) and any("gru" in l for l in labels)
  for row in results["rows"]:
    for key in ("s_rand_auc", "sc_rand_auc", "test_auc", "updates", "converged"):
      assert len(row["per_seed"][key]) == config.num_seeds, (row["label"], key)
      assert f"{key}[{row['label']}]" in results["summary"]
    assert set(row["params"]) >= {"dataset", "model", "dim"}
    assert row["timing"]["members"] == config.num_seeds
  for name in ("results.json", "results.csv", "report.md", "config.json", "sb_models_auc.png"):
    assert os.path.getsize(workdir / name) > 0, name
  report = (workdir / "report.md").read_text()
  assert "sb_models_auc.png" in report and "lms5 / gru(16,10,1)" in report
  # Each row keeps its training-accuracy curve: one point per check, ending at the last check's
  # mean over seeds (the same numbers as the row's train_acc).
  for row in results["rows"]:
    curve = row["train_curve"]
    assert len(curve["epoch"]) == len(curve["mean"]) == len(curve["ci95"]) >= 1
    assert curve["epoch"] == sorted(curve["epoch"])
    assert curve["mean"][-1] == pytest.approx(row["summary"]["train_acc"]["mean"], abs=1e-6)
  assert os.path.getsize(workdir / "train_acc_curves.png") > 0
  assert "train_acc_curves.png" in report
  # A member that stopped before a running check made no forward pass in its interval: the
  # record carries its last reported accuracy and loss (an empty count used to read 0).
  records = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
  carried = 0
  for prev, rec in zip(records, records[1:]):
    if rec["cell"] == prev["cell"] and rec["train_check"] == "running":
      for m, stopped in enumerate(prev["done"]):
        if stopped:
          assert rec["train_acc"][m] == prev["train_acc"][m] > 0.9, (rec["cell"], rec["epoch"])
          assert rec["train_loss"][m] == prev["train_loss"][m] > 0, (rec["cell"], rec["epoch"])
          carried += 1
  assert carried > 0, "no running check followed a stop in the smoke run"


@pytest.mark.slow
def test_smoke_run_shows_extreme_sb_in_every_cell(smoke_run):
  """S-rand AUC near .5 in every cell (1k test points: null sd ~ .018, 2 seeds), S^c-randomized
  AUC close to the standard AUC (the slabs are ignored) and the model has learned (AUC > .9)."""
  _, _, results = smoke_run("sb_models")
  for row in results["rows"]:
    s = row["summary"]
    assert abs(s["s_rand_auc"]["mean"] - 0.5) <= 0.06, row["label"]
    assert s["test_auc"]["mean"] >= 0.9, row["label"]
    assert s["sc_rand_auc"]["mean"] >= s["test_auc"]["mean"] - 0.03, row["label"]


@pytest.mark.slow
def test_the_ledger_judges_the_smoke_model_the_paper_ran(smoke_run):
  _, _, results = smoke_run("sb_models")
  # The smoke model that is also the paper's (the (100,1)-FCN on LMS-5) is judged.
  claims = ledger_claims("sb_models", results)
  assert [c["row"] for c in claims] == ["lms5 / fcn(100,1)"] * 2
  for c in claims:
    assert c["metric"] in ("s_rand_auc", "sc_rand_auc") and c["row"] in c["statement"]
    row = find_row(results, c["row"])
    assert c["per_seed"][c["metric"]] == row["per_seed"][c["metric"]]
    assert c["mean"] == pytest.approx(row["summary"][c["metric"]]["mean"])
    learned = c["metric"] != "s_rand_auc" or row["summary"]["test_auc"]["mean"] >= 0.99
    assert c["verdict"] == expected_verdict(row["per_seed"][c["metric"]], c["band"], learned), c




def test_cpu_preset_validates_and_skip_is_checked():
  config = load_config("sb_models", "cpu")
  cells = sb_models.cells(config)
  labels = [c.label for c in cells]
  configs = [c.config for c in cells]
  # Every model on both datasets, and the wide FCN of Fig. 3(b) on MS-(5,7) (counted) and on
  # LMS-5 (an extension) at d = 50 and 250.
  assert len(labels) == 16 and "ms57 / cnn1d(32,7,2)" in labels and "ms57 / gru(100,10,2)" in labels
  wide = {c.label: c for c in cells if c.params["wide"]}
  assert sorted(wide) == ["lms5 d=250 / fcn(2000,1)", "lms5 d=50 / fcn(2000,1)",
                          "ms57 d=250 / fcn(2000,1)", "ms57 d=50 / fcn(2000,1)"]
  assert [l for l, c in wide.items() if c.params.get("extension")] == \
      ["lms5 d=50 / fcn(2000,1)", "lms5 d=250 / fcn(2000,1)"]
  assert wide["ms57 d=250 / fcn(2000,1)"].config.data.num_train == 100_000
  ms57 = configs[labels.index("ms57 / cnn1d(32,7,1)")]
  assert ms57.data.num_train == 100_000 and ms57.train.max_epochs == 30  # dataset's per_model
  assert configs[labels.index("ms57 / fcn(100,2)")].train.max_epochs == 100
  assert configs[labels.index("lms5 / gru(100,10,1)")].train.max_epochs == 100
  config.sweep.skip = ("ms57 / cnn1d(32,7,3)",)
  with pytest.raises(ConfigError, match="sweep.skip names cells that are not in the sweep"):
    sb_models.cells(config)
  config.sweep.skip = ()
  config.sweep.wide_extensions = ("ms5",)
  with pytest.raises(ConfigError, match="sweep.wide_extensions"):
    sb_models.cells(config)


def test_gru_preset_grids_optimizers_with_the_appendix_budget():
  config = load_config("sb_models", "gru_ms57")
  cells = sb_models.cells(config)
  assert [c.label for c in cells] == [
      "ms57 / gru(100,10,1) / sgd lr 0.1", "ms57 / gru(100,10,1) / sgd lr 0.03",
      "ms57 / gru(100,10,1) / adam lr 0.001", "ms57 / gru(100,10,1) / adam lr 0.0003"]
  for cell in cells:
    c = cell.config
    assert (c.optim.name, c.optim.learning_rate) == (cell.params["optimizer"],
                                                     cell.params["learning_rate"])
    assert c.train.max_epochs == 500 and c.train.stop_rule == "loss" and c.train.stop_eps == 0.01
    assert c.data.num_train == 100_000 and c.data.num_test == 50_000 and c.num_seeds >= 4
  # Only the paper's optimizer (SGD lr .1) is counted; the others are extensions.
  assert [bool(c.params.get("extension")) for c in cells] == [False, True, True, True]

