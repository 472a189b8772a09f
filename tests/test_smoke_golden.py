"""Every claim config's `:smoke` run gives the per-seed numbers recorded in
tests/data/smoke_golden.json (to 1e-6: the same config and seed must give the same numbers,
whatever the code around the computation looks like), and writes the files of the results
contract. Each smoke run is made once per session (conftest.smoke_run) and shared with the
experiment-specific tests."""

import json
import os
import re

import numpy as np
import pytest

from conftest import REPO, smoke_params
from simplicity_bias.experiments import claim_configs

GOLDEN = os.path.join(REPO, "tests", "data", "smoke_golden.json")
CONFIGS = [name for name, _ in claim_configs()]


def test_every_claim_config_has_recorded_numbers():
  with open(GOLDEN, encoding="utf-8") as f:
    assert sorted(json.load(f)) == sorted(CONFIGS)


@pytest.mark.parametrize("name", smoke_params(CONFIGS))
def test_smoke_results_match_the_recorded_ones(name, smoke_run):
  config, workdir, results = smoke_run(name)
  with open(GOLDEN, encoding="utf-8") as f:
    golden = json.load(f)[name]
  rows = {row["label"]: row["per_seed"] for row in results["rows"]}
  assert sorted(rows) == sorted(golden)
  for label, metrics in golden.items():
    for metric, values in metrics.items():
      assert len(values) == len(rows[label][metric])
      np.testing.assert_allclose(rows[label][metric], values, atol=1e-6, rtol=0,
                                 err_msg=f"{name} [{label}] {metric}")
  # The results contract: every run writes these, and results.json is what was returned.
  for file in ("config.json", "results.json", "results.csv", "metrics.jsonl", "report.md",
               "log.txt"):
    assert os.path.getsize(os.path.join(workdir, file)) > 0, file
  with open(os.path.join(workdir, "results.json"), encoding="utf-8") as f:
    saved = json.load(f)
  assert saved["experiment"] == config.experiment
  assert saved["per_seed"] == json.loads(json.dumps(results["per_seed"]))
  report = open(os.path.join(workdir, "report.md"), encoding="utf-8").read()
  figures = re.findall(r"\]\(([^)]+\.png)\)", report)
  assert figures, "the report shows no figure"
  for figure in figures:
    assert os.path.getsize(os.path.join(workdir, figure)) > 0, figure
