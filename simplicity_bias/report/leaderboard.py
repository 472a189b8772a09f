"""LEADERBOARD.md: the mitigation leaderboard's table, from the rows of a leaderboard run.

One row per testbed x method x selection with exactly the columns of :data:`COLUMNS`; every
number is the mean ± 95% CI over seeds (one seed = one group of members trained together).
"""

import json
from typing import Dict, List, Sequence

COLUMNS = ("testbed", "track", "method", "selection", "test acc", "S-rand acc", "S-rand AUC",
           "S^c-rand AUC", "seeds", "cost")
METRICS = ("test_acc", "s_rand_acc", "s_rand_auc", "sc_rand_auc")
SELECTIONS = {
    "fixed": "the member fixed in advance (D-BAT's last model, DivDis' head 0, member 0 of the "
             "others)",
    "ensemble": "the group's mean logits",
    "n16": "the member with the best accuracy on 16 labelled validation points with S permuted "
           "(track T2 side information)",
    "oracle": "the member with the best S-randomized test accuracy, chosen in hindsight (an "
              "upper bound, never the headline)",
}


def _cell(summary: Dict, metric: str) -> str:
  s = summary.get(metric)
  return "—" if s is None else f"{s['mean']:.3f} ± {s['ci95']:.3f}"


def _cost(summary: Dict) -> str:
  s = summary.get("cost")
  return "—" if s is None else f"{s['mean']:.3g}"


def table(rows: Sequence[Dict]) -> str:
  lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
  for r in rows:
    p, s = r["params"], r["summary"]
    cells = [p["testbed"], p["track"], p["method"], p["selection"]]
    cells += [_cell(s, m) for m in METRICS]
    cells += [str(len(r["seeds"])), _cost(s)]
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines)


LEARNED = 0.9  # ERM test accuracy below which a testbed's rows cannot measure a mitigation


def unlearned_testbeds(rows: Sequence[Dict]) -> List[str]:
  """Notes for the testbeds whose ERM model did not learn the task (mean test accuracy below
  :data:`LEARNED`): S-randomized accuracy ≈ .5 there is chance, not simplicity bias."""
  out = []
  for r in rows:
    p, s = r["params"], r["summary"]
    if p["method"] == "erm" and p["selection"] == "fixed" and s["test_acc"]["mean"] < LEARNED:
      out.append(f"{p['testbed']}: ERM reaches test accuracy {s['test_acc']['mean']:.3f} ± "
                 f"{s['test_acc']['ci95']:.3f} at this size and budget, so the task is not "
                 "learned and this testbed's rows do not measure mitigation (S-randomized "
                 "accuracy ≈ .5 is chance there).")
  return out


def unfitted_methods(rows: Sequence[Dict]) -> List[str]:
  """Notes for the (testbed, method) cells where some member of a group did not fit its training
  set (its final training accuracy, the lowest of the group's members, mean over seeds below
  :data:`LEARNED`): their rows measure a failure to train at our settings, not mitigation."""
  out = []
  for r in rows:
    p, s = r["params"], r["summary"]
    fit = s.get("train_acc_min")
    if p["selection"] == "fixed" and fit is not None and fit["mean"] < LEARNED:
      out.append(f"{p['testbed']} {p['method']}: the group's least-fitted member reaches "
                 f"training accuracy {fit['mean']:.3f} ± {fit['ci95']:.3f}, so the method did "
                 "not fit the training set at our settings and its rows do not measure "
                 "mitigation.")
  return out


def document(results: Dict, intro: str, notes: Sequence[str] = ()) -> str:
  """The whole LEADERBOARD.md: what it measures, the table, the selections and notes."""
  rows = results["rows"]
  notes = unlearned_testbeds(rows) + unfitted_methods(rows) + list(notes)
  meta, timing = results.get("leaderboard", {}), results.get("timing", {})
  run = [f"{timing['total_s'] / 60:.0f} min on {timing.get('device', '?')}"] if timing else []
  run += [f"{k} {meta[k]}" for k in ("machine", "commit", "command") if meta.get(k)]
  parts = ["# Simplicity-bias mitigation leaderboard", "", intro, "",
           *([f"Run: {'; '.join(run)}.", ""] if run else []), table(rows), "",
           "Selections: " + "; ".join(f"`{k}` = {v}" for k, v in SELECTIONS.items()) + ".",
           "", "Cost: member updates of the group (summed over its members) x forward/backward "
           "passes per update (our estimate per method), mean over seeds."]
  if notes:
    parts += ["", "## Notes", ""] + [f"- {n}" for n in notes]
  return "\n".join(parts) + "\n"


def render(results_path: str, output: str, intro: str = "", notes: Sequence[str] = ()) -> str:
  """LEADERBOARD.md at ``output`` from a leaderboard run's results.json (a committed record)."""
  with open(results_path, encoding="utf-8") as f:
    results = json.load(f)
  meta = results.get("leaderboard", {})
  text = document(results, intro or meta.get("intro", ""), list(notes) or meta.get("notes", []))
  with open(output, "w", encoding="utf-8") as f:
    f.write(text)
  return text


def selections_of(rows: List[Dict]) -> List[str]:
  return list(dict.fromkeys(r["params"]["selection"] for r in rows))
