"""Every claim config's `:smoke` run gives the per-seed numbers recorded in
tests/data/smoke_golden/<CPU vendor>.json (to 1e-6: the same config and seed must give the same
numbers, whatever the code around the computation looks like), and writes the files of the
results contract. Each smoke run is made once per session (conftest.smoke_run) and shared with the
experiment-specific tests.

The numbers are kept per CPU vendor: XLA:CPU picks other kernels on another CPU, so the float
rounding differs, and training amplifies it (measured: 1e-6 to 6e-5 on synthetic runs, up to .4
on the image smoke runs, whose few updates on tiny data are chaotic). On a machine whose vendor has
no record, or no record of that config, the comparison is skipped, saying so; `SB_RECORD_GOLDEN=1
python -m pytest -m "slow or not slow" tests/test_smoke_golden.py` records this machine's numbers
(after a change that is meant to change them, on every recorded kind of machine; where that
cannot be done, delete the config's entry from the other vendors' files rather than leave numbers
that no longer apply)."""

import json
import os
import re

import numpy as np
import pytest

from conftest import REPO, smoke_params
from simplicity_bias.experiments import claim_configs
from simplicity_bias.report.machine import cpu_vendor

GOLDEN_DIR = os.path.join(REPO, "tests", "data", "smoke_golden")
CONFIGS = [name for name, _ in claim_configs()]


def golden_files():
  return sorted(os.path.join(GOLDEN_DIR, f) for f in os.listdir(GOLDEN_DIR) if f.endswith(".json"))


def test_every_claim_config_has_recorded_numbers():
  """Every claim config is recorded for some CPU vendor, and no file names another config."""
  assert golden_files()
  recorded = set()
  for path in golden_files():
    with open(path, encoding="utf-8") as f:
      names = set(json.load(f))
    assert names <= set(CONFIGS), (path, sorted(names - set(CONFIGS)))
    recorded |= names
  assert recorded == set(CONFIGS), sorted(set(CONFIGS) - recorded)


def _record(name, rows):
  path = os.path.join(GOLDEN_DIR, f"{cpu_vendor()}.json")
  recorded = {}
  if os.path.exists(path):
    with open(path, encoding="utf-8") as f:
      recorded = json.load(f)
  recorded[name] = json.loads(json.dumps(rows))
  with open(path, "w", encoding="utf-8") as f:
    json.dump(dict(sorted(recorded.items())), f, indent=1, sort_keys=True)


@pytest.mark.parametrize("name", smoke_params(CONFIGS))
def test_smoke_results_match_the_recorded_ones(name, smoke_run):
  config, workdir, results = smoke_run(name)
  rows = {row["label"]: row["per_seed"] for row in results["rows"]}
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
  if os.environ.get("SB_RECORD_GOLDEN"):
    _record(name, rows)
  path = os.path.join(GOLDEN_DIR, f"{cpu_vendor()}.json")
  if not os.path.exists(path):
    pytest.skip(f"no smoke numbers recorded for CPU vendor {cpu_vendor()!r} (recorded: "
                f"{[os.path.basename(p) for p in golden_files()]}); the contract was checked")
  with open(path, encoding="utf-8") as f:
    recorded = json.load(f)
  if name not in recorded:
    pytest.skip(f"no smoke numbers of {name} recorded for CPU vendor {cpu_vendor()!r} (deleted "
                "when its smoke run changed where it could not be re-recorded); the contract "
                "was checked")
  golden = recorded[name]
  assert sorted(rows) == sorted(golden)
  for label, metrics in golden.items():
    for metric, values in metrics.items():
      assert len(values) == len(rows[label][metric])
      np.testing.assert_allclose(rows[label][metric], values, atol=1e-6, rtol=0,
                                 err_msg=f"{name} [{label}] {metric}")
