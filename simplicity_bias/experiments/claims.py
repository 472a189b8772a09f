"""Claims: one line of REPRODUCTION.md each — a statement, its published value, our mean ± CI
over seeds, the band it is judged against, pass / fail.

The pass rule (fixed before looking at results):

* a claim passes when the row's mean over seeds lies in its band;
* a "≈ .5 once randomized" claim only counts when the same model learned the task: its row must
  also have a test AUC of at least :data:`LEARNED_AUC` (a model at chance is .5 whatever is
  randomized), otherwise it fails and says why;
* "≈ .5" bands are :data:`CHANCE_BAND` = [.47, .53] (about four standard errors of a seed mean
  at our test sizes), not wider;
* ``extension=True`` marks a cell the paper never ran: reported, not counted.
"""

from typing import Dict, Optional, Sequence, Tuple

CHANCE_BAND = (0.47, 0.53)
LEARNED_AUC = 0.99


def find_row(results: Dict, label: str) -> Dict:
  for row in results["rows"]:
    if row["label"] == label:
      return row
  raise KeyError(f"no row {label!r} in results of {results.get('experiment')!r}; rows: "
                 f"{[r['label'] for r in results['rows']]}")


def claim(results: Dict, row_label: str, metric: str, text: str, published: str,
          low: float, high: float, *, extension: bool = False,
          requires: Sequence[Tuple[str, float, str]] = ()) -> Dict:
  """One claim on a row; ``requires``: (metric, minimum, what it shows) conditions that must
  also hold on the row for the claim to pass."""
  row = find_row(results, row_label)
  summary = row["summary"][metric]
  seeds = len(row["per_seed"][metric])
  passed = bool(low <= summary["mean"] <= high)
  reason = "" if passed else "outside the band"
  for req_metric, minimum, meaning in requires:
    value = row["summary"].get(req_metric, {}).get("mean")
    if value is None or not value >= minimum:
      passed = False
      shown = "missing" if value is None else f"{value:.3f}"
      reason = f"counts only if {meaning}: {req_metric} {shown} < {minimum:g}"
      break
  return {"experiment": results["experiment"], "claim": text, "published": published,
          "row": row_label, "metric": metric, "mean": summary["mean"], "ci95": summary["ci95"],
          "seeds": seeds, "band": [low, high], "pass": passed, "reason": reason,
          "kind": "extension" if extension else "paper"}


def randomized_chance(results: Dict, row_label: str, metric: str, text: str, published: str,
                      *, extension: bool = False, learned_metric: str = "test_auc",
                      learned: Optional[float] = None) -> Dict:
  """"≈ .5 with a block randomized": the chance band, counted only if the model learned."""
  return claim(results, row_label, metric, text, published, *CHANCE_BAND, extension=extension,
               requires=[(learned_metric, LEARNED_AUC if learned is None else learned,
                          "the model learned the task")])
