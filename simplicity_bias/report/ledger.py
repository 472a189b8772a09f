"""The claim ledger: every claim of REPRODUCTION.md specified as data before a run, and the
verdicts that read the seeds' confidence interval.

One file per claim config, ``reproduction/ledger/<config>.json``::

  {"config": "lms5", "experiment": "synthetic_sb",
   "default_preset": "paper",            # or what the default preset still does differently
   "notes": ["..."],                     # evidence and what was tried (REPRODUCTION.md)
   "claims": [{"row": "all", "metric": "s_rand_auc",
               "statement": "lms5: S-rand AUC ≈ .5", "published": "0.507",
               "source": "Pitfalls of SB, Table 1", "band": [0.47, 0.53],
               "bounds": [0, 1],           # the metric's possible range (optional; null: none)
               "kind": "paper",            # or "extension": a cell the paper never ran
               "requires": [{"metric": "test_auc", "min": 0.99,
                             "meaning": "the model learned the task"}],
               "counts_at": ["default"]}]} # optional: presets whose runs can decide it

A claim is identified by ``row | metric`` within its config. Its *spec hash* covers every field
above; each record stores the hash of every spec it was judged under, and
``tests/test_ledger.py`` fails when a spec differs from its committed record's unless
``reproduction/amendments.json`` holds an amendment for it (date, old spec, new spec, why, and
whether a result had been seen).

Verdicts (:func:`verdict`): **pass** when the whole 95% interval of the seed mean lies in the
band, **fail** when it lies wholly outside, **inconclusive** otherwise; fewer than
:data:`MIN_SEEDS` seeds is inconclusive; a claim whose ``requires`` condition does not hold on its
row fails; a claim with ``counts_at`` is inconclusive in a run of another preset; a ``below``
claim (this row's metric below that of row ``below``) passes when the two intervals do not
overlap in that order (:func:`compare_verdict`); an ``untestable`` claim (the reason why) is
reported and never tallied, and so is a claim whose ``testable_if`` control (a condition on
another row: ``{"row", "metric", "min", "meaning"}``) does not hold in the run.

Settings (:func:`setting`): a run of the default preset is in the paper's setting when the
ledger's ``default_preset`` says "paper"; any other preset is *reduced*, and the record lists the
config fields in which it differs from the default preset.
"""

import hashlib
import json
import os
import re
from typing import Dict, List, Optional, Sequence, Tuple

from simplicity_bias.report.results import mean_ci95
from simplicity_bias.validation import ConfigError

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LEDGER_DIR = os.path.join(_ROOT, "reproduction", "ledger")
AMENDMENTS = os.path.join(_ROOT, "reproduction", "amendments.json")
# Published claims with no row yet, and why (rendered in REPRODUCTION.md).
NOT_RUN = os.path.join(_ROOT, "reproduction", "not_run.json")
# The files of the records directory that are not records.
NOT_RECORDS = ("amendments.json", "not_run.json")

MIN_SEEDS = 4
KINDS = ("paper", "extension")
VERDICTS = ("pass", "fail", "inconclusive", "untestable")
# The fields a spec hash covers (every field a claim has).
SPEC_FIELDS = ("row", "metric", "statement", "published", "source", "band", "bounds", "kind",
               "requires", "counts_at", "below", "untestable", "testable_if")
_REQUIRED = ("row", "metric", "statement", "published", "band", "kind")

# Config fields that say how a run is sized or laid out, not what it trains or measures: a preset
# that differs from the default only in these is still in the default's setting. Which cells run
# (grids of ε, α, widths, k) decides which rows exist, not the setting of a row that does.
NOT_SETTING = re.compile(
    r"^(num_seeds|seed|num_devices|data_dir|resume|overwrite|progress|evals|model\.conv_impl|"
    r"eval\.(attack_batch|boundary_resolution|attribution_chunk|attribution_show|robust_eps|"
    r"robust_eps_fractions|num_subsets)|train\.(eval_batch_size|scan_length|check_size)|"
    r"diffroar\.(retrain_group|k_grid)|grid\..*|sweep\.[a-z_]+|ensemble\.(sizes|datasets|"
    r"own_data)|data\.sigmas|adv\.(eps|widths)|init\.alphas)$|"
    r"(^|\.)(num_test|num_val|data_dir|unroll)$")


def claim_id(spec: Dict) -> str:
  below = f" < {spec['below']}" if spec.get("below") else ""
  return f"{spec['row']} | {spec['metric']}{below}"


def spec_of(spec: Dict) -> Dict:
  """The fields of ``spec`` that define the claim (what a hash covers)."""
  return {k: spec[k] for k in SPEC_FIELDS if k in spec}


def spec_hash(spec: Optional[Dict]) -> Optional[str]:
  if spec is None:
    return None
  text = json.dumps(spec_of(spec), sort_keys=True, ensure_ascii=False)
  return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def ledger_path(name: str, directory: Optional[str] = None) -> str:
  return os.path.join(directory or LEDGER_DIR, f"{name}.json")


def load(name: str, directory: Optional[str] = None) -> Dict:
  """The ledger of claim config ``name``, validated."""
  path = ledger_path(name, directory)
  if not os.path.exists(path):
    raise ConfigError(f"claim config {name!r} has no ledger: {path} is missing (every claim "
                      "config specifies its claims there before it runs).")
  with open(path, encoding="utf-8") as f:
    ledger = json.load(f)
  validate(ledger, path)
  return ledger


def validate(ledger: Dict, where: str = "ledger") -> None:
  problems = []
  for key in ("config", "experiment", "default_preset", "claims"):
    if key not in ledger:
      problems.append(f"no {key!r}")
  if not all(isinstance(n, str) for n in ledger.get("notes", [])):
    problems.append("notes must be a list of strings")
  seen = set()
  for i, spec in enumerate(ledger.get("claims", [])):
    missing = [k for k in _REQUIRED if k not in spec]
    unknown = [k for k in spec if k not in SPEC_FIELDS]
    if missing or unknown:
      problems.append(f"claim {i}: missing {missing}, unknown {unknown}")
      continue
    lo, hi = spec["band"]
    if not lo <= hi:
      problems.append(f"claim {claim_id(spec)!r}: band {spec['band']} is empty")
    if spec["kind"] not in KINDS:
      problems.append(f"claim {claim_id(spec)!r}: kind {spec['kind']!r} not in {KINDS}")
    for r in spec.get("requires", []):
      if set(r) != {"metric", "min", "meaning"}:
        problems.append(f"claim {claim_id(spec)!r}: a condition needs metric, min, meaning")
    if claim_id(spec) in seen:
      problems.append(f"claim {claim_id(spec)!r} appears twice")
    seen.add(claim_id(spec))
  if problems:
    raise ConfigError(f"{where}: " + "; ".join(problems))


def dumps(ledger: Dict) -> str:
  """A ledger as committed: one field per line, short lists on one line."""
  text = json.dumps(ledger, indent=1, ensure_ascii=False)
  # Only lists of numbers and nulls go on one line (a string may hold commas of its own).
  return re.sub(r"\[\s+([-+.\deE,\s]|null)*?\s*\]",
                lambda m: "[" + ", ".join(s.strip() for s in m.group(0)[1:-1].split(",")) + "]",
                text) + "\n"


def verdict(mean: float, ci95: float, seeds: int, band: Sequence[float],
            bounds: Optional[Sequence[float]] = None) -> Tuple[str, str]:
  """(verdict, reason) of a seed mean ± its 95% CI half-width against ``band``; the interval is
  first clipped to the metric's possible range ``bounds`` (an AUC's interval cannot pass 1)."""
  lo, hi = band
  if mean != mean or ci95 != ci95:
    return "inconclusive", "no value (NaN)"
  low, high = _clip(mean - ci95, mean + ci95, bounds)
  if seeds < MIN_SEEDS:
    inside = lo <= low and high <= hi
    return "inconclusive", (f"n = {seeds} < {MIN_SEEDS} seeds"
                            + ("" if inside else f"; interval [{low:.3f}, {high:.3f}]"))
  if lo <= low and high <= hi:
    return "pass", ""
  if high < lo or low > hi:
    return "fail", f"interval [{low:.3f}, {high:.3f}] outside the band"
  return "inconclusive", (f"interval [{low:.3f}, {high:.3f}] straddles the band's edge: more "
                          "seeds would decide it")


def find_row(results: Dict, label: str) -> Optional[Dict]:
  for row in results.get("rows", []):
    if row["label"] == label:
      return row
  return None


def _clip(low: float, high: float, bounds: Optional[Sequence[float]]) -> Tuple[float, float]:
  """An interval cut to a metric's possible range (None: no bound on that side)."""
  if bounds is not None:
    low = low if bounds[0] is None else max(low, bounds[0])
    high = high if bounds[1] is None else min(high, bounds[1])
  return low, high


def _interval(values, bounds=None) -> Tuple[float, float, float, float]:
  """Mean, 95% CI half-width and the (clipped) interval's ends of per-seed ``values``."""
  summary = mean_ci95(values)
  low, high = _clip(summary["mean"] - summary["ci95"], summary["mean"] + summary["ci95"], bounds)
  return summary["mean"], summary["ci95"], low, high


def compare_verdict(values: Sequence[float], other: Sequence[float]) -> Tuple[str, str]:
  """"``values`` lie below ``other``": pass when the two 95% intervals do not overlap in that
  order, fail when they do not overlap in the other order, inconclusive otherwise."""
  _, _, low, high = _interval(values)
  _, _, other_low, other_high = _interval(other)
  shown = f"[{low:.3f}, {high:.3f}] vs [{other_low:.3f}, {other_high:.3f}]"
  if min(len(values), len(other)) < MIN_SEEDS:
    return "inconclusive", f"n = {min(len(values), len(other))} < {MIN_SEEDS} seeds; {shown}"
  if high < other_low:
    return "pass", ""
  if low > other_high:
    return "fail", f"above, not below: {shown}"
  return "inconclusive", f"the intervals overlap ({shown}): more seeds would decide it"


def control_key(condition: Dict) -> str:
  """Where a record keeps the per-seed values of a ``testable_if`` control."""
  return f"{condition['metric']}[{condition['row']}]"


def judge_one(spec: Dict, per_seed: Dict[str, List[float]], preset: str,
              other: Optional[Dict[str, List[float]]] = None) -> Dict:
  """One claim judged on a row's per-seed values (``{metric: [value per seed]}``); ``other``:
  the per-seed values of the row a ``below`` claim compares with. A ``testable_if`` control's
  values are ``per_seed[control_key(condition)]``."""
  metric = spec["metric"]
  out = {"id": claim_id(spec), **spec_of(spec), "spec_hash": spec_hash(spec)}
  values = per_seed.get(metric)
  if values is None or (spec.get("below") and (other or {}).get(metric) is None):
    return {**out, "verdict": "inconclusive", "reason": f"the run has no {metric}",
            "mean": float("nan"), "ci95": float("nan"), "seeds": 0, "per_seed": {}}
  mean, ci95, _, _ = _interval(values)
  kept = {metric: list(values)}
  if spec.get("below"):
    kept[f"{metric}[{spec['below']}]"] = list(other[metric])
    result, reason = compare_verdict(values, other[metric])
  else:
    result, reason = verdict(mean, ci95, len(values), spec["band"], spec.get("bounds"))
  for condition in spec.get("requires", []):
    got = per_seed.get(condition["metric"])
    kept[condition["metric"]] = list(got or [])
    value = _interval(got)[0] if got else None
    if value is None or not value >= condition["min"]:
      shown = "missing" if value is None else f"{value:.3f}"
      result, reason = "fail", (f"counts only if {condition['meaning']}: "
                                f"{condition['metric']} {shown} < {condition['min']:g}")
      break
  counts_at = spec.get("counts_at")
  if counts_at and preset not in counts_at and result != "fail":
    result, reason = "inconclusive", (f"decided only by a run of the {' or '.join(counts_at)} "
                                      f"preset (this run: {preset})")
  if spec.get("untestable"):
    result, reason = "untestable", spec["untestable"]
  condition = spec.get("testable_if")
  if condition:
    control = per_seed.get(control_key(condition))
    kept[control_key(condition)] = list(control or [])
    value = _interval(control)[0] if control else None
    if value is None or not value >= condition["min"]:
      shown = "not run" if value is None else f"{value:.3f} < {condition['min']:g}"
      result, reason = "untestable", (f"only if {condition['meaning']}: {condition['metric']} of "
                                      f"{condition['row']!r} {shown}")
  return {**out, "verdict": result, "reason": reason, "mean": mean, "ci95": ci95,
          "seeds": len(values), "per_seed": kept}


_COLUMN = re.compile(r"^(\w+)\[(\d+)\]$")         # coord_rand_acc[0]: one coordinate
_REST_MIN = re.compile(r"^(\w+)\[(\d+):\]\.min$")  # coord_rand_acc[1:].min: the lowest of the rest


def row_values(row: Dict, metrics: Sequence[str]) -> Dict[str, List[float]]:
  """The per-seed values of ``row`` (``row["per_seed"]``) plus, for a metric named like
  ``coord_rand_acc[j]`` or ``coord_rand_acc[j:].min``, the per-seed column j (or the lowest of
  columns j, j+1, ...) of a vector metric kept per seed in ``row[name]["per_seed"]``."""
  values = dict(row.get("per_seed", {}))
  for metric in metrics:
    match = _COLUMN.match(metric) or _REST_MIN.match(metric)
    vector = (row.get(match.group(1)) or {}).get("per_seed") if match else None
    if vector is None or metric in values:
      continue
    j = int(match.group(2))
    values[metric] = ([float(v[j]) for v in vector] if _COLUMN.match(metric)
                      else [float(min(v[j:])) for v in vector])
  return values


def judge(ledger: Dict, results: Dict, preset: str) -> List[Dict]:
  """Every claim of ``ledger`` whose row the run has, judged; rows the run does not have (a
  preset that runs fewer cells) are left out."""
  out = []
  for spec in ledger["claims"]:
    row = find_row(results, spec["row"])
    other = find_row(results, spec["below"]) if spec.get("below") else None
    if row is not None and (other is not None or not spec.get("below")):
      metrics = [spec["metric"]] + [r["metric"] for r in spec.get("requires", [])]
      values = row_values(row, metrics)
      condition = spec.get("testable_if")
      if condition:
        control = find_row(results, condition["row"])
        if control is not None:
          got = row_values(control, [condition["metric"]]).get(condition["metric"])
          if got is not None:
            values[control_key(condition)] = got
      out.append(judge_one(spec, values, preset, other and row_values(other, metrics)))
  return out


def _flat(d, prefix=""):
  out = {}
  for k, v in d.items():
    if isinstance(v, dict):
      out.update(_flat(v, f"{prefix}{k}."))
    else:
      out[f"{prefix}{k}"] = v
  return out


def setting(ledger: Dict, config, default_config, preset: str) -> Dict:
  """{"setting": "paper" | "reduced", "differs": what differs}: a run of the default preset is in
  the ledger's ``default_preset`` setting; another preset is reduced by every setting field in
  which its config differs from the default preset's (:data:`NOT_SETTING` aside)."""
  ran, default = _flat(config.to_dict()), _flat(default_config.to_dict())
  diffs = [f"{k} {_show(ran.get(k))} (default {_show(default.get(k))})"
           for k in sorted(set(ran) | set(default))
           if ran.get(k) != default.get(k) and not NOT_SETTING.search(k)]
  paper = ledger["default_preset"] == "paper"
  if preset == "default" or not diffs:
    if paper:
      return {"setting": "paper", "differs": ""}
    return {"setting": "reduced", "differs": ledger["default_preset"]}
  extra = "" if paper else f"; the default itself: {ledger['default_preset']}"
  return {"setting": "reduced", "differs": "; ".join(diffs) + extra}


def _show(value) -> str:
  if isinstance(value, (list, tuple)):
    return "(" + ", ".join(_show(v) for v in value) + ")"
  return "—" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _load_list(path: str, key: str) -> List[Dict]:
  """``json[key]`` of the file at ``path``, or [] without one."""
  if not os.path.exists(path):
    return []
  with open(path, encoding="utf-8") as f:
    return json.load(f)[key]


def load_not_run(path: Optional[str] = None) -> List[Dict]:
  return _load_list(path or NOT_RUN, "not_run")


def load_amendments(path: Optional[str] = None) -> List[Dict]:
  return _load_list(path or AMENDMENTS, "amendments")


def amended(config: str, old_hash: Optional[str], new_hash: Optional[str],
            amendments: Sequence[Dict], claim: str) -> List[Dict]:
  """The chain of amendments of claim ``claim`` of ``config`` that leads from the spec with
  ``old_hash`` to the one with ``new_hash`` (empty when none does, or when they are equal)."""
  if old_hash == new_hash:
    return []
  mine = [a for a in amendments if a["config"] == config and a["id"] == claim]
  chain, at = [], old_hash
  for _ in range(len(mine)):
    step = next((a for a in mine if spec_hash(a.get("old")) == at), None)
    if step is None:
      return []
    chain.append(step)
    at = spec_hash(step.get("new"))
    if at == new_hash:
      return chain
  return []


def legacy_view(spec: Dict):
  """What a record from before the ledger kept of a spec: row, metric, band and kind."""
  return (spec.get("row"), spec.get("metric"),
          [round(float(x), 6) for x in spec.get("band", [])], spec.get("kind", "paper"))


def drift(records_dir: str, ledger_dir: Optional[str] = None,
          amendments: Optional[Sequence[Dict]] = None) -> List[str]:
  """Every claim whose spec in the ledger differs from the one its committed record (in
  ``records_dir``) was judged under, with no amendment that leads from one to the other; a
  record from before the ledger (no spec hashes) is compared on row, metric, band and kind."""
  amendments = load_amendments() if amendments is None else amendments
  problems = []
  for path in sorted(os.listdir(records_dir)):
    if not path.endswith(".json") or path in NOT_RECORDS:
      continue
    name = path[:-len(".json")]
    with open(os.path.join(records_dir, path), encoding="utf-8") as f:
      record = json.load(f)
    if not os.path.exists(ledger_path(name, ledger_dir)):
      problems.append(f"{name}: a record without a ledger")
      continue
    current = {claim_id(s): s for s in load(name, ledger_dir)["claims"]}
    mine = [a for a in amendments if a["config"] == name]
    for c in record["claims"]:
      if "spec_hash" in c:
        cid, now = c["id"], spec_hash(current.get(c["id"]))
        if now != c["spec_hash"] and not amended(name, c["spec_hash"], now, amendments, cid):
          problems.append(f"{name}: {cid!r} differs from the spec its record was judged under "
                          "and no amendment says why")
        continue
      cid = f"{c.get('row') or c['claim'].split(':')[0]} | {c['metric']}"
      old = {"row": cid.split(" | ")[0], "metric": c["metric"], "band": c["band"],
             "kind": c.get("kind", "paper")}
      spec = current.get(cid)
      if spec is not None and legacy_view(spec) == legacy_view(old):
        continue
      if not any(a["id"] == cid and a.get("old") is not None
                 and legacy_view(a["old"]) == legacy_view(old)
                 and spec_hash(a.get("new")) == spec_hash(spec) for a in mine):
        problems.append(f"{name}: {cid!r} differs from the (legacy) record's row, metric, band "
                        "or kind and no amendment says why")
  return problems
