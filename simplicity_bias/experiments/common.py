"""Sweeps over static choices (models, optimizers, datasets): one compiled program per cell.

Dataset parameters (margins, noise) vmap inside one program via ``config.grid``; choices that
change shapes or code (model, activation, optimizer, dataset layout) cannot, so a *cell* is one
set of config overrides, trained as its own member stack of seeds. Every cell is validated before
the first one compiles.
"""

import copy
import os
import time
from typing import Any, Dict, List, NamedTuple, Sequence

import jax
import ml_collections
from tqdm.auto import tqdm

from simplicity_bias.experiments import synthetic_sb
from simplicity_bias.report import markdown
from simplicity_bias.report.results import build_results, write_json, write_results
from simplicity_bias.validation import ConfigError


class Cell(NamedTuple):
  label: str                 # row label in the results table
  params: Dict[str, Any]     # what identifies the cell in tables and heat-maps
  overrides: Dict[str, Any]  # dotted config paths -> values


def apply_overrides(config: ml_collections.ConfigDict, overrides: Dict[str, Any]):
  """A copy of ``config`` with ``{"model.width": 300, ...}`` applied; unknown paths raise.

  A ``model.name`` override starts from an empty model section, so one model's fields never
  leak into another's builder.
  """
  config = copy.deepcopy(config)
  with config.unlocked():
    if "model.name" in overrides:
      config.model = ml_collections.ConfigDict({"name": overrides["model.name"]})
    for path, value in overrides.items():
      *parents, leaf = path.split(".")
      node = config
      for p in parents:
        if p not in node:
          raise ConfigError(f"cell override {path!r}: config has no field {p!r}.")
        node = node[p]
      # grid axes and model fields differ by cell (a CNN has no `depth`); others must exist.
      if leaf not in node and not (parents and parents[0] in ("grid", "model")):
        raise ConfigError(f"cell override {path!r}: config has no field {leaf!r}.")
      node[leaf] = value
  return config


def cell_configs(config, cells: Sequence[Cell]):
  """Config of every cell, each validated (raises ConfigError naming the cell)."""
  configs = []
  for cell in cells:
    c = apply_overrides(config, cell.overrides)
    try:
      synthetic_sb.validate(c)
    except ConfigError as e:
      raise ConfigError(f"cell {cell.label!r}: {e}") from None
    configs.append(c)
  return configs


def run_cells(config, cells: Sequence[Cell], progress: bool = True):
  """Trains every cell; returns (rows, outcomes, timing). Rows carry the cell's params."""
  configs = cell_configs(config, cells)
  rows, outcomes, start = [], [], time.perf_counter()
  bar = tqdm(list(zip(cells, configs)), desc="cells", unit="cell",
             disable=not (progress and config.progress))
  for cell, cell_config in bar:
    bar.set_postfix_str(cell.label)
    out = synthetic_sb.train_and_evaluate(cell_config, progress=False)
    for row in out.rows:
      row["label"] = cell.label if len(out.rows) == 1 else f"{cell.label} [{row['label']}]"
      row["params"] = {**cell.params, **row["params"]}
      row["timing"] = {k: v for k, v in out.timing.items()}
      row.pop("coord_rand_acc", None)  # per-coordinate detail stays in single-cell runs
      rows.append(row)
    outcomes.append(out)
  timing = {"total_s": time.perf_counter() - start, "cells": len(cells),
            "device": str(jax.devices()[0].platform)}
  return rows, outcomes, timing


def write_sweep(workdir: str, config, experiment: str, title: str, intro: str, rows,
                timing, metrics: Sequence[str], figures=(), notes=(), **extra) -> Dict:
  """results.json / CSV / report.md of a sweep (figures already written into ``workdir``)."""
  results = build_results(experiment, rows, timing, **extra)
  if workdir:
    os.makedirs(workdir, exist_ok=True)
    write_json(os.path.join(workdir, "config.json"), config.to_dict())
    write_results(workdir, results)
    markdown.write_report(workdir, title, intro, results, metrics, figures, notes)
  return results


def heatmap_values(rows: List[Dict], x_param: str, y_param: str, metric: str):
  """(values[y, x], x_values, y_values) of a metric's mean from rows keyed by two params."""
  import numpy as np
  xs = list(dict.fromkeys(r["params"][x_param] for r in rows))
  ys = list(dict.fromkeys(r["params"][y_param] for r in rows))
  values = np.full((len(ys), len(xs)), np.nan)
  for r in rows:
    values[ys.index(r["params"][y_param]), xs.index(r["params"][x_param])] = \
        r["summary"][metric]["mean"]
  return values, xs, ys


def find_row(results: Dict, label: str) -> Dict:
  for row in results["rows"]:
    if row["label"] == label:
      return row
  raise KeyError(f"no row {label!r} in results of {results.get('experiment')!r}; rows: "
                 f"{[r['label'] for r in results['rows']]}")


def claim(results: Dict, row_label: str, metric: str, text: str, published: str,
          low: float, high: float) -> Dict:
  """One line of REPRODUCTION.md: a claim, its published value and our mean ± CI vs a band.

  A claim passes when the mean over seeds lies in ``[low, high]``.
  """
  summary = find_row(results, row_label)["summary"][metric]
  return {"experiment": results["experiment"], "claim": text, "published": published,
          "row": row_label, "metric": metric, "mean": summary["mean"], "ci95": summary["ci95"],
          "band": [low, high], "pass": bool(low <= summary["mean"] <= high)}
