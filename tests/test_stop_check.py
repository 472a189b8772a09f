"""The stop rule's full pass over the training set runs only when the running accuracy of the
training forward passes says a member may have converged; the decisions are those of a full
check at every interval (the paper's rule), measured on LMS-5."""

import jax
import numpy as np
import pytest

from simplicity_bias import pipeline
from simplicity_bias.configs import load_config
from simplicity_bias.report.run import RunWriter


@pytest.mark.parametrize("name,fields", [
    ("lms5", {"data.num_train": 20_000, "data.num_val": 2_000, "data.num_test": 2_000,
              "num_seeds": 4, "train.stop_eps": 1e-3}),
    ("lms5", {"num_seeds": 3, "train.stop_rule": "loss", "train.stop_eps": 0.02}),
])
def test_gated_full_checks_stop_at_the_same_update_as_full_checks(name, fields):
  outcomes = {}
  for mode in ("always", "gated"):
    config = load_config(name, "smoke")
    config.unlock()
    for path, value in {**fields, "train.full_check": mode, "evals": ()}.items():
      node = config
      *parents, leaf = path.split(".")
      for p in parents:
        node = node[p]
      node[leaf] = value
    outcomes[mode] = pipeline.run_cell(config, RunWriter("", config), progress=False)
  always, gated = outcomes["always"], outcomes["gated"]
  np.testing.assert_array_equal(np.asarray(gated.states.converged_step),
                                np.asarray(always.states.converged_step))
  np.testing.assert_array_equal(np.asarray(gated.states.num_updates),
                                np.asarray(always.states.num_updates))
  assert np.all(np.asarray(always.states.converged_step) > 0)  # the rule did fire
  for a, b in zip(jax.tree_util.tree_leaves(always.variables),
                  jax.tree_util.tree_leaves(gated.variables)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  full = [r["train_check"] == "full" for r in gated.history]
  assert all(r["train_check"] == "full" for r in always.history)
  assert sum(full) < len(full), "the gate never saved a pass"
  assert full[-1]  # the reported final training accuracy is the full set's
  np.testing.assert_array_equal(gated.history[-1]["train_acc"], always.history[-1]["train_acc"])
