"""results.json / results.csv / metrics.jsonl: the files every experiment writes.

``results.json`` (the contract users and scripts rely on)::

  {"experiment": str,
   "per_seed": {metric: [value per seed]},            # the single row, or "metric[label]" keys
   "summary": {metric: {"mean": float, "ci95": float}},
   "rows": [{"label": str, "params": {...}, "per_seed": {...}, "summary": {...}}, ...],
   "timing": {...}, ...}

One row per grid point (dataset-parameter combination); a run without a grid has one row and its
metrics appear at the top level under their plain names. ``ci95`` is the half-width of the
Student-t 95% confidence interval of the mean over seeds (0 for a single seed).
"""

import csv
import io
import json
import math
import os
import tempfile
from typing import Dict, List, Sequence

import numpy as np
from scipy import stats


def mean_ci95(values: Sequence[float]) -> Dict[str, float]:
  """Mean and Student-t 95% CI half-width over seeds; NaN-free values expected."""
  v = np.asarray(values, dtype=np.float64)
  n = v.size
  if n == 0:
    return {"mean": float("nan"), "ci95": float("nan")}
  mean = float(v.mean())
  if n == 1:
    return {"mean": mean, "ci95": 0.0}
  half = float(stats.t.ppf(0.975, n - 1) * v.std(ddof=1) / math.sqrt(n))
  return {"mean": mean, "ci95": half}


def make_row(label: str, params: Dict[str, float], per_seed: Dict[str, Sequence[float]],
             **extra) -> Dict:
  """A results row: per-seed values and their mean +- CI (extra keys are kept as they are)."""
  per_seed = {k: [float(x) for x in v] for k, v in per_seed.items()}
  summary = {k: mean_ci95(v) for k, v in per_seed.items()}
  return {"label": label, "params": dict(params), "per_seed": per_seed, "summary": summary,
          **extra}


def add_metrics(row: Dict, per_seed: Dict[str, Sequence[float]]) -> Dict:
  """``row`` with more per-seed metrics and their mean +- CI (in place; returned too)."""
  for k, v in per_seed.items():
    row["per_seed"][k] = [float(x) for x in v]
    row["summary"][k] = mean_ci95(row["per_seed"][k])
  return row


def build_results(experiment: str, rows: List[Dict], timing: Dict[str, float], **extra) -> Dict:
  if len(rows) == 1:
    per_seed, summary = rows[0]["per_seed"], rows[0]["summary"]
  else:
    per_seed = {f"{k}[{r['label']}]": v for r in rows for k, v in r["per_seed"].items()}
    summary = {f"{k}[{r['label']}]": v for r in rows for k, v in r["summary"].items()}
  return {"experiment": experiment, "per_seed": per_seed, "summary": summary, "rows": rows,
          "timing": dict(timing), **extra}


# Metrics that are counts: printed as integers (a mean over seeds keeps one decimal).
COUNT_METRICS = ("updates", "member_updates", "epochs", "num_updates")


def format_mean_ci(summary: Dict[str, float], digits: int = 3, metric: str = "",
                   num_seeds: int = 0) -> str:
  """``mean ± ci95`` for a table cell; AUCs clipped to [0, 1] (float rounding can exceed 1 by
  one ulp); counts as integers; one seed says so instead of printing a zero interval."""
  mean, ci = summary["mean"], summary["ci95"]
  if metric.endswith("_auc") and math.isfinite(mean):
    mean = min(max(mean, 0.0), 1.0)
  if metric in COUNT_METRICS:
    text = f"{mean:.0f}" if float(mean).is_integer() else f"{mean:.1f}"
    digits_ci = 1
  else:
    text, digits_ci = f"{mean:.{digits}f}", digits
  if num_seeds == 1:
    return f"{text} (n = 1, no interval)"
  return f"{text} ± {ci:.{digits_ci}f}"


def readable_mode() -> int:
  """The mode ``open()`` would give a new file: 0666 less the process umask."""
  umask = os.umask(0)
  os.umask(umask)
  return 0o666 & ~umask


def atomic_write_text(path: str, text: str) -> None:
  """Writes via a temporary file in the same directory and a rename (no half-written files)."""
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
  try:
    with os.fdopen(fd, "w", encoding="utf-8") as f:
      f.write(text)
    os.chmod(tmp, readable_mode())  # mkstemp makes 0600 files: colleagues could not read them
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.unlink(tmp)
    raise


def json_default(obj):
  if isinstance(obj, (np.integer,)):
    return int(obj)
  if isinstance(obj, (np.floating,)):
    return float(obj)
  if isinstance(obj, np.ndarray):
    return obj.tolist()
  raise TypeError(f"not JSON serialisable: {type(obj)}")


def write_json(path: str, obj) -> None:
  atomic_write_text(path, json.dumps(obj, indent=2, default=json_default, allow_nan=True) + "\n")


def results_csv(results: Dict) -> str:
  """One line per row: label, grid parameters, then mean and ci95 of every metric."""
  rows = results["rows"]
  param_names = sorted({p for r in rows for p in r["params"]})
  metric_names = list(dict.fromkeys(m for r in rows for m in r["summary"]))
  out = io.StringIO()
  writer = csv.writer(out)
  writer.writerow(["label", *param_names, "num_seeds",
                   *[f"{m}_{s}" for m in metric_names for s in ("mean", "ci95")]])
  for r in rows:
    num_seeds = max((len(v) for v in r["per_seed"].values()), default=0)
    values = []
    for m in metric_names:
      s = r["summary"].get(m, {"mean": float("nan"), "ci95": float("nan")})
      values += [f"{s['mean']:.6g}", f"{s['ci95']:.6g}"]
    writer.writerow([r["label"], *[r["params"].get(p, "") for p in param_names], num_seeds,
                     *values])
  return out.getvalue()


def write_results(workdir: str, results: Dict) -> None:
  """Writes ``results.json`` and ``results.csv`` into ``workdir``."""
  write_json(os.path.join(workdir, "results.json"), results)
  atomic_write_text(os.path.join(workdir, "results.csv"), results_csv(results))


class JsonlWriter:
  """Appends one JSON object per line (metrics of every evaluation during training)."""

  def __init__(self, path: str, truncate: bool = True):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    self.path = path
    if truncate:
      open(path, "w", encoding="utf-8").close()

  def __call__(self, record: Dict) -> None:
    with open(self.path, "a", encoding="utf-8") as f:
      f.write(json.dumps(record, default=json_default) + "\n")


_json_default = json_default  # older name, kept for callers outside report/
