"""Every experiment's `:smoke` run gives the per-seed numbers recorded in
tests/data/smoke_golden.json (exact up to 1e-6: the same config and seed must give the same
numbers, whatever the code around the computation looks like)."""

import json
import os

import numpy as np
import pytest

from conftest import REPO, load_config
from simplicity_bias.experiments import get_experiment

GOLDEN = os.path.join(REPO, "tests", "data", "smoke_golden.json")
SYNTHETIC = ("lms5", "ms57", "sb_models", "sb_training_choices", "sb_hurts_generalization",
             "ensembles_synthetic", "theorem1_lsn", "nonrandom_init", "margin_sweep")


def assert_matches_golden(name, results, atol=1e-6):
  with open(GOLDEN, encoding="utf-8") as f:
    golden = json.load(f)[name]
  rows = {row["label"]: row["per_seed"] for row in results["rows"]}
  assert sorted(rows) == sorted(golden)
  for label, metrics in golden.items():
    for metric, values in metrics.items():
      np.testing.assert_allclose(rows[label][metric], values, atol=atol, rtol=0,
                                 err_msg=f"{name} [{label}] {metric}")


@pytest.mark.parametrize("name", SYNTHETIC)
def test_smoke_results_match_the_recorded_ones(name):
  config = load_config(name, "smoke")
  results = get_experiment(config.experiment).run(config, "", progress=False)
  assert_matches_golden(name, results)
