"""The pass rule of REPRODUCTION.md rows: a "≈ .5 once randomized" claim fails for a model that
never learned the task, bands are the fixed chance band, and extensions are reported but not
counted."""

import numpy as np

from simplicity_bias.experiments.claims import CHANCE_BAND, claim, randomized_chance
from simplicity_bias.metrics.classification import roc_auc
from simplicity_bias.report.reproduction import table
from simplicity_bias.report.results import make_row


def _results(label, per_seed):
  return {"experiment": "synthetic_sb",
          "rows": [make_row(label, {}, per_seed, seeds=list(range(len(per_seed["test_auc"]))))]}


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
  no = randomized_chance(_results("all", {"test_auc": chance, "s_rand_auc": chance}), "all",
                         "s_rand_auc", "S-rand AUC ≈ .5", ".507")
  # ... but it never learned the task, so the claim fails and says why.
  assert not no["pass"] and "learned" in no["reason"] and "test_auc" in no["reason"]
  yes = randomized_chance(_results("all", {"test_auc": learned, "s_rand_auc": chance}), "all",
                          "s_rand_auc", "S-rand AUC ≈ .5", ".507")
  assert yes["pass"] and yes["band"] == list(CHANCE_BAND)
  # A model that still reads S after randomization (AUC .6) is outside the band.
  off = randomized_chance(_results("all", {"test_auc": learned, "s_rand_auc": [0.6] * 4}),
                          "all", "s_rand_auc", "S-rand AUC ≈ .5", ".507")
  assert not off["pass"] and off["reason"] == "outside the band"


def test_extensions_are_reported_but_not_counted():
  results = _results("all", {"test_auc": [1.0, 1.0], "s_rand_auc": [0.9, 0.9]})
  paper = claim(results, "all", "test_auc", "std AUC ≈ 1", "1.000", 0.99, 1.0)
  failing_extension = claim(results, "all", "s_rand_auc", "an extension", "—", 0.47, 0.53,
                            extension=True)
  assert failing_extension["kind"] == "extension" and not failing_extension["pass"]
  text = table([paper, failing_extension], [], {})
  assert "**1 of 1 paper claims pass.**" in text
  assert "an extension" in text  # reported, in its own group


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
