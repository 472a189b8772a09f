"""The claim ledger: specs as data, verdicts that read the interval, settings, and the test that
no counted claim's spec moves after its record without an amendment."""

import copy
import json
import os
import shutil

import numpy as np
import pytest
from scipy import stats

from conftest import expected_verdict
from simplicity_bias.configs import load_config
from simplicity_bias.experiments import claim_configs
from simplicity_bias.report import ledger
from simplicity_bias.report.reproduction import collect, table

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECORDS = os.path.join(ROOT, "reproduction")
NAMES = [name for name, _ in claim_configs()]


def test_every_claim_config_has_a_valid_ledger_and_no_ledger_is_orphaned():
  for name in NAMES:
    entry = ledger.load(name)
    assert entry["config"] == name
    assert entry["claims"], name
  files = {f[:-len(".json")] for f in os.listdir(ledger.LEDGER_DIR) if f.endswith(".json")}
  assert files == set(NAMES)


def test_no_committed_spec_moved_without_an_amendment():
  assert ledger.drift(RECORDS) == []


def _copy_ledgers(tmp_path):
  records, ledgers = tmp_path / "records", tmp_path / "ledger"
  shutil.copytree(RECORDS, records, ignore=shutil.ignore_patterns("ledger", "amendments.json"))
  shutil.copytree(ledger.LEDGER_DIR, ledgers)
  return str(records), str(ledgers)


def _edit(ledgers, name, change):
  path = os.path.join(ledgers, f"{name}.json")
  with open(path, encoding="utf-8") as f:
    entry = json.load(f)
  old = copy.deepcopy(entry["claims"][0])
  change(entry["claims"][0])
  with open(path, "w", encoding="utf-8") as f:
    f.write(ledger.dumps(entry))
  return old, copy.deepcopy(entry["claims"][0])


@pytest.mark.parametrize("name", ["lms5", "sb_models"])
def test_a_moved_band_is_caught_until_an_amendment_is_committed(tmp_path, name):
  records, ledgers = _copy_ledgers(tmp_path)
  amendments = ledger.load_amendments()
  assert ledger.drift(records, ledgers, amendments) == []

  def widen(spec):
    spec["band"] = [spec["band"][0] - 0.05, spec["band"][1]]
  old, new = _edit(ledgers, name, widen)
  problems = ledger.drift(records, ledgers, amendments)
  assert len(problems) == 1 and problems[0].startswith(f"{name}: ")
  fix = {"config": name, "id": ledger.claim_id(new), "date": "2026-12-07", "old": old,
         "new": new, "why": "test", "result_seen": True}
  assert ledger.drift(records, ledgers, amendments + [fix]) == []
  # An amendment for another spec does not excuse this one.
  wrong = dict(fix, new=dict(new, band=[0.0, 1.0]))
  assert len(ledger.drift(records, ledgers, amendments + [wrong])) == 1


def test_a_dropped_claim_needs_an_amendment_too(tmp_path):
  records, ledgers = _copy_ledgers(tmp_path)
  path = os.path.join(ledgers, "ms57.json")
  with open(path, encoding="utf-8") as f:
    entry = json.load(f)
  dropped = entry["claims"].pop(1)
  with open(path, "w", encoding="utf-8") as f:
    f.write(ledger.dumps(entry))
  # A record judged under the ledger that still holds the claim: the drop is caught.
  record = _hashed_record(entry["claims"] + [dropped])
  with open(os.path.join(records, "ms57.json"), "w", encoding="utf-8") as f:
    json.dump(record, f)
  problems = ledger.drift(records, ledgers, [])
  assert [p for p in problems if p.startswith("ms57:")] == [
      f"ms57: {ledger.claim_id(dropped)!r} differs from the spec its record was judged under "
      "and no amendment says why"]
  gone = {"config": "ms57", "id": ledger.claim_id(dropped), "date": "2026-12-07",
          "old": dropped, "new": None, "why": "test", "result_seen": False}
  assert not [p for p in ledger.drift(records, ledgers, [gone]) if p.startswith("ms57:")]


def _hashed_record(specs, values=(0.5, 0.51, 0.49, 0.5)):
  claims = [ledger.judge_one(s, {s["metric"]: list(values)}, "cpu") for s in specs]
  return {"ledger_version": 1, "claims": claims, "run": {"name": "ms57", "status": "ok"}}


def _ci(values):
  v = np.asarray(values, dtype=np.float64)
  return v.mean(), stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size)


@pytest.mark.parametrize("values, band, expected", [
    ((0.50, 0.51, 0.49, 0.50), (0.47, 0.53), "pass"),
    ((0.60, 0.61, 0.59, 0.60), (0.47, 0.53), "fail"),
    ((0.52, 0.55, 0.50, 0.53), (0.47, 0.53), "inconclusive"),   # straddles the edge
    ((0.30, 0.70, 0.50, 0.52), (0.47, 0.53), "inconclusive"),   # wider than the band
    ((0.50, 0.51, 0.49), (0.47, 0.53), "inconclusive"),         # n < 4
])
def test_verdict_reads_the_interval_not_the_mean(values, band, expected):
  mean, ci = _ci(values)
  assert ledger.verdict(mean, ci, len(values), band)[0] == expected
  # Brute force from the per-seed values: the same verdict.
  assert expected_verdict(values, band) == expected


def test_a_bounded_metric_interval_is_clipped_to_its_range():
  # An AUC of .99999 ± .00001 cannot exceed 1: without the bounds it would straddle [.99, 1].
  assert ledger.verdict(0.99999, 0.00002, 8, (0.99, 1.0))[0] == "inconclusive"
  assert ledger.verdict(0.99999, 0.00002, 8, (0.99, 1.0), (0, 1))[0] == "pass"


def test_compare_verdict():
  low, high = [0.1, 0.12, 0.11, 0.1], [0.5, 0.52, 0.49, 0.5]
  assert ledger.compare_verdict(low, high)[0] == "pass"
  assert ledger.compare_verdict(high, low)[0] == "fail"
  assert ledger.compare_verdict(low, [0.1, 0.5, 0.2, 0.12])[0] == "inconclusive"
  assert ledger.compare_verdict(low[:3], high[:3])[0] == "inconclusive"


SPEC = {"row": "all", "metric": "s_rand_auc", "statement": "S-rand ≈ .5", "published": ".507",
        "source": "test", "band": [0.47, 0.53], "bounds": [0, 1], "kind": "paper",
        "requires": [{"metric": "test_auc", "min": 0.99, "meaning": "the model learned"}]}


def _results(**per_seed):
  return {"rows": [{"label": "all", "per_seed": per_seed}]}


def test_judge_conditions_presets_and_missing_rows():
  entry = {"config": "x", "experiment": "x", "default_preset": "paper", "claims": [
      SPEC, dict(SPEC, row="absent")]}
  chance = [0.5, 0.51, 0.49, 0.5]
  [learned] = ledger.judge(entry, _results(s_rand_auc=chance, test_auc=[1.0] * 4), "cpu")
  assert learned["verdict"] == "pass"
  assert learned["per_seed"] == {"s_rand_auc": chance, "test_auc": [1.0] * 4}
  assert learned["spec_hash"] == ledger.spec_hash(SPEC)
  # A model at chance is .5 whatever is randomized: the condition makes the claim fail.
  [at_chance] = ledger.judge(entry, _results(s_rand_auc=chance, test_auc=chance), "cpu")
  assert at_chance["verdict"] == "fail" and "the model learned" in at_chance["reason"]
  only_default = dict(entry, claims=[dict(SPEC, counts_at=["default"])])
  [reduced] = ledger.judge(only_default, _results(s_rand_auc=chance, test_auc=[1.0] * 4), "cpu")
  assert reduced["verdict"] == "inconclusive"
  [full] = ledger.judge(only_default, _results(s_rand_auc=chance, test_auc=[1.0] * 4), "default")
  assert full["verdict"] == "pass"
  untestable = dict(entry, claims=[dict(SPEC, untestable="no control")])
  [u] = ledger.judge(untestable, _results(s_rand_auc=chance, test_auc=[1.0] * 4), "cpu")
  assert u["verdict"] == "untestable"
  # A control on another row decides whether the claim tests anything.
  control = {"row": "control", "metric": "test_acc", "min": 0.95, "meaning": "it learns"}
  entry = dict(entry, claims=[dict(SPEC, testable_if=control)])
  results = _results(s_rand_auc=chance, test_auc=[1.0] * 4)
  [no_control] = ledger.judge(entry, results, "cpu")
  assert no_control["verdict"] == "untestable" and "not run" in no_control["reason"]
  results["rows"].append({"label": "control", "per_seed": {"test_acc": [0.6, 0.7, 0.6, 0.7]}})
  [weak] = ledger.judge(entry, results, "cpu")
  assert weak["verdict"] == "untestable" and "0.650 < 0.95" in weak["reason"]
  assert weak["per_seed"]["test_acc[control]"] == [0.6, 0.7, 0.6, 0.7]
  results["rows"][1]["per_seed"]["test_acc"] = [1.0, 0.99, 1.0, 1.0]
  [tested] = ledger.judge(entry, results, "cpu")
  assert tested["verdict"] == "pass"


def test_spec_hash_covers_every_field():
  for field, value in [("band", [0.4, 0.6]), ("kind", "extension"), ("published", ".5"),
                       ("statement", "other"), ("requires", []), ("counts_at", ["default"])]:
    assert ledger.spec_hash(dict(SPEC, **{field: value})) != ledger.spec_hash(SPEC), field


def test_settings_are_computed_from_the_presets():
  entry = ledger.load("lms5")
  default = load_config("lms5", "")
  assert ledger.setting(entry, default, default, "default") == {"setting": "paper",
                                                                "differs": ""}
  cpu = ledger.setting(entry, load_config("lms5", "cpu"), default, "cpu")
  assert cpu["setting"] == "reduced" and "data.num_train 20000 (default 100000)" in cpu["differs"]
  # Seeds and test-set sizes size a run; they do not change its setting.
  more_seeds = load_config("lms5", "")
  with more_seeds.unlocked():
    more_seeds.num_seeds = 2
    more_seeds.data.num_test = 7
  assert ledger.setting(entry, more_seeds, default, "cpu")["setting"] == "paper"
  not_paper = dict(entry, default_preset="10 attack steps (paper: 40)")
  assert ledger.setting(not_paper, default, default, "default") == {
      "setting": "reduced", "differs": "10 attack steps (paper: 40)"}


def test_the_table_tallies_paper_and_reduced_settings_apart(tmp_path):
  claims, runs = collect(str(tmp_path), NAMES, RECORDS)
  text = table(claims, runs, {})
  paper = [c for c in claims if c["kind"] == "paper" and c["verdict"] != "untestable"]
  in_paper = [c for c in paper if c["setting"] == "paper"]
  t = {v: sum(c["verdict"] == v for c in in_paper) for v in ("pass", "fail", "inconclusive")}
  assert (f"**Paper setting: {t['pass']} pass, {t['fail']} fail, {t['inconclusive']} "
          f"inconclusive of {len(in_paper)}.") in text
  assert "## Amendments" in text and "## The paper's claims, in a reduced setting" in text
  # Every claim dropped by an amendment is gone from the rows.
  dropped = {(a["config"], a["id"]) for a in ledger.load_amendments() if a["new"] is None}
  assert not dropped & {(c["config"], c["id"]) for c in claims}


def test_every_amendment_chain_ends_at_the_ledgers_current_spec():
  """The amendments file is a history of the ledger: per claim, the last amendment's new spec is
  the ledger's spec today (or the claim is gone when it was removed)."""
  last = {}
  for a in ledger.load_amendments():
    assert a["why"] and a["date"] and isinstance(a["result_seen"], bool), a
    last[(a["config"], a["id"])] = a
  for (name, cid), a in last.items():
    current = {ledger.claim_id(s): s for s in ledger.load(name)["claims"]}.get(cid)
    assert ledger.spec_hash(current) == ledger.spec_hash(a["new"]), (name, cid)


def test_vector_columns_are_per_seed_metrics():
  row = {"per_seed": {"test_auc": [1.0, 1.0]},
         "coord_rand_acc": {"per_seed": [[0.5, 1.0, 0.97], [0.51, 0.99, 1.0]]}}
  values = ledger.row_values(row, ["coord_rand_acc[0]", "coord_rand_acc[1:].min", "test_auc"])
  assert values["coord_rand_acc[0]"] == [0.5, 0.51]
  assert values["coord_rand_acc[1:].min"] == [0.97, 0.99]
  assert values["test_auc"] == [1.0, 1.0]


def test_the_reviews_fixes_are_in_the_ledger():
  def spec(name, cid):
    return {ledger.claim_id(s): s for s in ledger.load(name)["claims"]}[cid]
  # The paper's ">= 99% of the per-example PGD budget on S", counted with its band.
  for ds in ("lms5", "ms57"):
    share = spec("attacks_synthetic", f"{ds} | pgd_share_s")
    assert share["kind"] == "paper" and share["band"] == [0.99, 1.0]
    assert spec("attacks_synthetic", f"{ds} | range_pgd_norm_share_s")["kind"] == "extension"
    assert spec("attacks_synthetic", f"{ds} | as_uap_acc")["kind"] == "paper"
  # Train accuracy counted for every FCN row of Table 2.
  fits = [s for s in ledger.load("sb_hurts_generalization")["claims"] if s["metric"] == "train_acc"]
  assert len(fits) == 6 and {s["kind"] for s in fits} == {"paper"}
  # Sanity checks are tests, not claims.
  for name in ("diffroar_fashion_mnist", "diffroar_cifar10", "diffroar_mnist",
               "diffroar_block_mnist"):
    rows = {s["row"] for s in ledger.load(name)["claims"]}
    assert not rows & {"standard k=1", "random k=0.05", "random summary"}, name
  # AdvMS "fails" is decided by the paper's budget only; L̂MS-7 ensembles are not testable.
  fails = [s for s in ledger.load("adv_training_advms")["claims"] if s["band"] == [0.0, 0.55]]
  assert fails and all(s["counts_at"] == ["default"] for s in fails)
  assert all(s["testable_if"]["row"] == "ms7 / K=1"
             for s in ledger.load("ensembles_synthetic")["claims"]
             if s["row"].startswith("noisy_lms7"))
  # The default (paper) preset of AdvMS trains with the paper's 40 PGD steps.
  assert load_config("adv_training_advms").objective.num_steps == 40


def test_the_committed_form_of_a_ledger_round_trips():
  """dumps folds short lists of numbers onto one line and changes no value (a string's own
  commas included), and every committed ledger file is exactly its dumps form."""
  sample = {"notes": ["n = 4,400 on MS-(5,7)", "a, b"], "band": [0.1, 0.2], "bounds": [0, None],
            "counts_at": ["default"], "requires": [{"metric": "m", "min": 0.9, "meaning": "x,y"}]}
  text = ledger.dumps(sample)
  assert json.loads(text) == sample and '"band": [0.1, 0.2]' in text
  for name in NAMES:
    with open(ledger.ledger_path(name), encoding="utf-8") as f:
      committed = f.read()
    assert ledger.dumps(json.loads(committed)) == committed, name
