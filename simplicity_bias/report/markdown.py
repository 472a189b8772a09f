"""A short report.md tying an experiment's numbers and figures together."""

import os
from typing import Dict, List, Sequence, Tuple

from simplicity_bias.report.results import atomic_write_text, format_mean_ci


def results_table(rows: List[Dict], metrics: Sequence[str]) -> str:
  """Markdown table: one line per row, mean ± 95% CI of each metric over seeds."""
  metrics = [m for m in metrics if any(m in r["summary"] for r in rows)]
  lines = ["| row | seeds | " + " | ".join(metrics) + " |",
           "|---|---|" + "---|" * len(metrics)]
  for r in rows:
    seeds = max(len(v) for v in r["per_seed"].values())
    cells = [format_mean_ci(r["summary"][m], metric=m, num_seeds=seeds) if m in r["summary"]
             else "—" for m in metrics]
    lines.append(f"| {r['label']} | {seeds} | " + " | ".join(cells) + " |")
  return "\n".join(lines)


def write_report(workdir: str, title: str, intro: str, results: Dict, metrics: Sequence[str],
                 figures: Sequence[Tuple[str, str]], notes: Sequence[str] = ()) -> str:
  """Writes ``report.md``; ``figures`` are (file name in workdir, caption) pairs."""
  timing = results.get("timing", {})
  parts = [f"# {title}", "", intro, "", "## Results (mean ± 95% CI over seeds)", "",
           results_table(results["rows"], metrics), ""]
  if notes:
    parts += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
  for name, caption in figures:
    parts += [f"![{caption}]({name})", "", f"*{caption}*", ""]
  if timing:
    parts += ["## Timing", "", " · ".join(f"{k}: {v:.1f}" if isinstance(v, float) else f"{k}: {v}"
                                         for k, v in timing.items()), ""]
  path = os.path.join(workdir, "report.md")
  atomic_write_text(path, "\n".join(parts))
  return path
