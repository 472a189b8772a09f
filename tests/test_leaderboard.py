"""The mitigation leaderboard: its cells, its selections against a hand-made outcome, the table's
exact columns, and (slow) its `:smoke` run end to end."""

import numpy as np
import pytest

from conftest import load_config
from simplicity_bias import pipeline
from simplicity_bias.experiments import mitigation_leaderboard as lb
from simplicity_bias.members import layout
from simplicity_bias.report import leaderboard as board
from simplicity_bias.validation import ConfigError

HEADER = ("| testbed | track | method | selection | test acc | S-rand acc | S-rand AUC | "
          "S^c-rand AUC | seeds | cost |")


def test_cells_are_testbeds_times_methods_with_each_methods_settings():
  config = load_config("mitigation_leaderboard", "smoke")
  config.leaderboard.testbeds = "lms5,ms57"
  config.leaderboard.methods = "erm,dbat,ensemble"
  cells = lb.cells(config)
  assert [c.label for c in cells] == ["lms5 erm", "lms5 dbat", "lms5 ensemble", "ms57 erm",
                                      "ms57 dbat", "ms57 ensemble"]
  dbat = cells[1].config
  assert (dbat.objective.name, dbat.members.group_size, dbat.data.pool) == ("dbat", 2,
                                                                           "decorrelated")
  assert dbat.data.pool_size == config.data.pool_size and cells[0].config.data.pool_size == 0
  assert tuple(cells[2].config.evals) == ("sb", "select_decorrelated", "sb@mean_logits")
  assert cells[3].config.data.name == "ms57" and cells[1].params["track"] == "T1"


def test_each_testbed_gets_its_own_settings():
  config = load_config("mitigation_leaderboard", "cpu")
  config.leaderboard.methods = "erm,dbat"
  cells = {c.label: c.config for c in lb.cells(config)}
  for method in ("erm", "dbat"):
    lms5, ms57 = cells[f"lms5 {method}"], cells[f"ms57 {method}"]
    assert (lms5.data.num_train, lms5.optim.learning_rate) == (20_000, 0.1)
    assert (ms57.data.num_train, ms57.optim.learning_rate) == (40_000, 0.5)
    assert ms57.data.num_test == lms5.data.num_test == config.data.num_test
  paper = {c.label: c.config for c in lb.cells(load_config("mitigation_leaderboard"))}
  assert paper["ms57 erm"].train.max_epochs == 200 and paper["lms5 erm"].train.max_epochs == 100
  config.leaderboard.testbed.ms57.optim.learnin_rate = 0.3
  with pytest.raises(ConfigError, match="learnin_rate"):
    lb.cells(config)


def test_bad_method_names_fail_before_anything_compiles():
  config = load_config("mitigation_leaderboard", "smoke")
  config.leaderboard.methods = "erm,jtt"
  with pytest.raises(ConfigError, match="'jtt'"):
    lb.cells(config)
  config = load_config("mitigation_leaderboard", "smoke")
  config.leaderboard.method.dbat.objective.alpha = -1.0
  with pytest.raises(ConfigError, match="cell 'lms5 dbat'.*alpha"):
    lb.cells(config)


def _outcome(method, evals, seeds=2, k=2):
  config = load_config("mitigation_leaderboard", "smoke")
  cell = pipeline.Cell(f"lms5 {method}", {"testbed": "lms5", "track": "T1", "method": method},
                       config)
  history = [{"num_updates": [10, 20, 30, 40], "train_acc": [1.0, 0.9, 1.0, 0.8]}]
  outcome = type("Outcome", (), {"layout": layout(0, seeds, slots=k), "evals": evals,
                                 "history": history})
  return cell, outcome


def test_selections_read_the_fixed_member_the_ensemble_and_the_best_in_hindsight():
  member = {m: np.array([0.6, 0.7, 0.9, 0.5]) + i for i, m in enumerate(lb.METRICS)}
  member["s_rand_acc"] = np.array([0.5, 0.8, 0.9, 0.6])   # best member: 1 in seed 0, 0 in seed 1
  member["select_acc"] = np.array([0.7, 0.6, 0.5, 0.75])  # on 16 points: 0 in seed 0, 1 in seed 1
  evals = {**member, **{f"{m}@mean_logits": np.array([0.11, 0.22]) for m in lb.METRICS}}
  cell, outcome = _outcome("dbat", evals)
  out = lb.selections(cell, outcome)
  np.testing.assert_allclose(out["fixed"]["s_rand_acc"], [0.8, 0.6])   # D-BAT: the last member
  np.testing.assert_allclose(out["oracle"]["s_rand_acc"], [0.8, 0.9])
  np.testing.assert_allclose(out["oracle"]["test_acc"], [0.7, 0.9])
  np.testing.assert_allclose(out["ensemble"]["sc_rand_auc"], [0.11, 0.22])
  np.testing.assert_allclose(out["n16"]["s_rand_acc"], [0.5, 0.6])
  cell, outcome = _outcome("divdis", evals)
  np.testing.assert_allclose(lb.selections(cell, outcome)["fixed"]["s_rand_acc"], [0.5, 0.9])
  rows = lb.rows(cell, outcome)
  assert [r["params"]["selection"] for r in rows] == ["fixed", "ensemble", "n16", "oracle"]
  # cost: the group's member updates (10 + 20, 30 + 40) x the method's passes per update (2).
  assert rows[0]["per_seed"]["cost"] == [60.0, 140.0]


def test_the_table_has_exactly_the_leaderboard_columns():
  rows = [{"params": {"testbed": "lms5", "track": "T0", "method": "erm", "selection": "fixed"},
           "seeds": [0, 1, 2, 3],
           "summary": {"test_acc": {"mean": 0.99, "ci95": 0.01}, "cost": {"mean": 1200.0},
                       "s_rand_acc": {"mean": 0.5, "ci95": 0.02}}}]
  lines = board.table(rows).splitlines()
  assert lines[0] == HEADER
  assert lines[2] == ("| lms5 | T0 | erm | fixed | 0.990 ± 0.010 | 0.500 ± 0.020 | — | — | 4 | "
                      "1.2e+03 |")


@pytest.mark.slow
def test_the_smoke_leaderboard_runs_end_to_end(tmp_path):
  config = load_config("mitigation_leaderboard", "smoke")
  config.leaderboard.methods = "erm,ensemble,dbat"
  results = pipeline.run(config, str(tmp_path), progress=False)
  labels = [r["label"] for r in results["rows"]]
  assert labels == ["lms5 erm fixed", "lms5 ensemble fixed", "lms5 ensemble ensemble",
                    "lms5 ensemble n16", "lms5 ensemble oracle", "lms5 dbat fixed",
                    "lms5 dbat ensemble", "lms5 dbat n16", "lms5 dbat oracle"]
  text = (tmp_path / "LEADERBOARD.md").read_text()
  assert HEADER in text and text.count("\n| lms5 |") == 9
  rendered = board.render(str(tmp_path / "results.json"), str(tmp_path / "again.md"))
  assert rendered == text


def _two_feature_data(n, seed):
  """Latent coordinate 0 (S) and 1 (S^c) both equal the label's sign; no rotation."""
  import jax
  rng = np.random.default_rng(seed)
  y = rng.integers(0, 2, n)
  z = np.stack([(2 * y - 1) * rng.uniform(0.1, 1, n), (2 * y - 1) * rng.uniform(0.1, 1, n)], 1)
  return jax.numpy.asarray(z, np.float32), jax.numpy.asarray(y)


def test_selection_accuracy_is_chance_for_a_model_of_s_and_high_for_one_of_s_complement():
  import jax
  import jax.numpy as jnp
  from simplicity_bias import evaluators
  from simplicity_bias.data.registry import DataInfo
  x, y = _two_feature_data(4000, 0)
  info = DataInfo("two", "vector", simple=(0,), complex=(1,), dim=2)
  models = jnp.asarray([[[-1.0, 1.0], [0.0, 0.0]], [[0.0, 0.0], [-1.0, 1.0]]])  # S, S^c
  out = evaluators.evaluate(["select_decorrelated"], lambda w, xx: xx @ w, models, x, y,
                            jnp.eye(2), jax.random.split(jax.random.key(0), 2), info,
                            {"select_n": 4000}, shared_data=True)
  s_model, sc_model = out["select_acc"]
  assert abs(s_model - 0.5) < 0.05 and sc_model == 1.0


def test_selection_evaluators_read_the_validation_split():
  from simplicity_bias import evaluators
  from simplicity_bias.report.run import RunWriter
  config = load_config("lms5", "smoke")
  config.num_seeds, config.train.max_epochs = 2, 1
  config.data.num_train, config.data.num_val, config.data.num_test = 256, 64, 128
  config.evals = ("select_decorrelated",)
  config.eval.select_n = 64
  outcome = pipeline.run_cell(config, RunWriter("", config, write=False), progress=False)
  data, keys = outcome.data, outcome.layout.keys(pipeline.Purpose.EVAL)
  again = {split: evaluators.evaluate(["select_decorrelated"], outcome.trainer.predict,
                                      outcome.variables, x, y, data.rotation, keys, data.info,
                                      {"select_n": 64}, shared_data=False)["select_acc"]
           for split, (x, y) in {"val": (data.x_val, data.y_val),
                                 "test": (data.x_test, data.y_test)}.items()}
  np.testing.assert_array_equal(outcome.evals["select_acc"], again["val"])
  assert not np.array_equal(again["val"], again["test"])



def test_a_testbed_erm_does_not_learn_is_flagged():
  row = lambda testbed, method, acc: {"params": {"testbed": testbed, "track": "T0",
                                                 "method": method, "selection": "fixed"},
                                      "summary": {"test_acc": {"mean": acc, "ci95": 0.01}}}
  notes = board.unlearned_testbeds([row("lms5", "erm", 0.999), row("ms57", "erm", 0.52),
                                    row("ms57", "dbat", 0.3)])
  assert len(notes) == 1 and notes[0].startswith("ms57: ERM reaches test accuracy 0.520")


def test_a_method_that_does_not_fit_its_training_set_is_flagged():
  def row(method, selection, fit):
    return {"params": {"testbed": "ms57", "track": "T0", "method": method,
                       "selection": selection},
            "summary": {"train_acc_min": {"mean": fit, "ci95": 0.01}}}
  notes = board.unfitted_methods([row("erm", "fixed", 0.999), row("adv_linf", "fixed", 0.499),
                                  row("adv_linf", "ensemble", 0.499), row("sd", "fixed", 0.9)])
  assert notes == ["ms57 adv_linf: the group's least-fitted member reaches training accuracy "
                   "0.499 ± 0.010, so the method did not fit the training set at our settings "
                   "and its rows do not measure mitigation."]


def test_the_committed_leaderboard_is_what_its_record_renders(tmp_path):
  import os
  from conftest import REPO
  record = os.path.join(REPO, "leaderboard", "cpu.json")
  committed = open(os.path.join(REPO, "LEADERBOARD.md"), encoding="utf-8").read()
  assert board.render(record, str(tmp_path / "LEADERBOARD.md")) == committed
