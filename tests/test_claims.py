"""The verdict rule of REPRODUCTION.md rows on real AUCs: a "≈ .5 once randomized" claim fails
for a model that never learned the task, and extensions are reported but not counted."""

import numpy as np

from simplicity_bias.metrics.classification import roc_auc
from simplicity_bias.report import ledger
from simplicity_bias.report.reproduction import table
from simplicity_bias.report.results import make_row

CHANCE_BAND = [0.47, 0.53]
RANDOMIZED = {"row": "all", "metric": "s_rand_auc", "statement": "S-rand AUC ≈ .5",
              "published": ".507", "source": "test", "band": CHANCE_BAND, "bounds": [0, 1],
              "kind": "paper", "requires": [{"metric": "test_auc", "min": 0.99,
                                             "meaning": "the model learned the task"}]}


def _judge(spec, per_seed):
  results = {"rows": [make_row("all", {}, per_seed)]}
  entry = {"config": "t", "experiment": "t", "default_preset": "paper", "claims": [spec]}
  [out] = ledger.judge(entry, results, "default")
  return out


def _aucs(score_fn, seeds=4, n=4000):
  """Per-seed AUC of ``score_fn(y, rng)`` on balanced labels."""
  out = []
  for s in range(seeds):
    rng = np.random.default_rng(s)
    y = rng.permutation(np.arange(n) % 2)
    out.append(float(roc_auc(score_fn(y, rng), y)))
  return out


def test_a_model_at_chance_fails_the_randomized_claim_that_a_learned_model_passes():
  chance = _aucs(lambda y, rng: rng.normal(size=y.shape))        # ignores the input
  learned = _aucs(lambda y, rng: y + 0.01 * rng.normal(size=y.shape))  # reads the label's block
  # A chance model's S-randomized AUC is ≈ .5, inside the band ...
  assert CHANCE_BAND[0] <= np.mean(chance) <= CHANCE_BAND[1]
  no = _judge(RANDOMIZED, {"test_auc": chance, "s_rand_auc": chance})
  # ... but it never learned the task, so the claim fails and says why.
  assert no["verdict"] == "fail" and "learned" in no["reason"] and "test_auc" in no["reason"]
  yes = _judge(RANDOMIZED, {"test_auc": learned, "s_rand_auc": chance})
  assert yes["verdict"] == "pass"
  # A model that still reads S after randomization (AUC .6) is outside the band.
  off = _judge(RANDOMIZED, {"test_auc": learned, "s_rand_auc": [0.6, 0.61, 0.6, 0.59]})
  assert off["verdict"] == "fail" and "outside the band" in off["reason"]


def test_extensions_are_reported_but_not_counted():
  per_seed = {"test_auc": [1.0] * 4, "s_rand_auc": [0.9] * 4}
  paper = _judge(dict(RANDOMIZED, metric="test_auc", band=[0.99, 1.0], requires=[],
                      statement="std AUC ≈ 1"), per_seed)
  extension = _judge(dict(RANDOMIZED, kind="extension", statement="an extension"), per_seed)
  assert extension["verdict"] == "fail"
  rows = [dict(c, config="t", setting="paper") for c in (paper, extension)]
  text = table(rows, [], {}, amendments=[])
  assert "**Paper setting: 1 pass, 0 fail, 0 inconclusive of 1." in text
  assert "an extension" in text.split("## Extensions")[1]  # reported, in its own group


def test_config_files_type_no_costs_and_only_constraints():
  """A preset's cost comes from the records (simplicity_bias/report/costs.py), never from a time
  typed into a config file: no DEFAULT_COST, and PAPER_SIZE_NEEDS states a constraint, no
  time."""
  import re
  from simplicity_bias.configs import load_module
  from simplicity_bias.experiments import claim_configs
  time = re.compile(r"\d\s*(sec|seconds?|min|minutes?|hours?|days?)\b|\d\s+[sh]\b"
                    r"|\b(hours|minutes)\b|measured")
  typed = {n: getattr(load_module(n), "DEFAULT_COST") for n, _ in claim_configs()
           if hasattr(load_module(n), "DEFAULT_COST")}
  assert not typed, typed
  needs = {n: getattr(load_module(n), "PAPER_SIZE_NEEDS", "") for n, _ in claim_configs()}
  assert needs["uap_mnist_cifar"].startswith("a GPU")
  assert not {n: t for n, t in needs.items() if time.search(t)}
