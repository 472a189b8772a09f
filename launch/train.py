r"""Runs one experiment: ``python launch/train.py --config=configs/<claim>.py --workdir=DIR``.

Override any config field with ``--config.FIELD=VALUE`` (e.g. ``--config.num_seeds=16``). Writes
``DIR/config.json``, ``DIR/results.json``, ``DIR/results.csv``, ``DIR/metrics.jsonl``, figures
``DIR/*.png`` and ``DIR/report.md``. Bad input exits with status 2 and one sentence naming the
field; a NaN/inf loss exits with status 3 and writes no results.
"""

import os
import sys

from absl import app, flags
from ml_collections import config_flags

from simplicity_bias.experiments import get_experiment
from simplicity_bias.validation import ConfigError, NonFiniteLossError

_CONFIG = config_flags.DEFINE_config_file("config", None, "Experiment config file (configs/*.py).",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Output directory (created if missing).")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  config = _CONFIG.value
  try:
    experiment = get_experiment(config.experiment)
    experiment.validate(config)
  except ConfigError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  workdir = os.path.abspath(_WORKDIR.value)
  os.makedirs(workdir, exist_ok=True)
  # A stale results file from an earlier run must never pass for this run's output.
  for stale in ("results.json", "results.csv", "report.md"):
    if os.path.exists(os.path.join(workdir, stale)):
      os.remove(os.path.join(workdir, stale))
  try:
    results = experiment.run(config, workdir)
  except ConfigError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  except NonFiniteLossError as e:
    print(f"error: {e} No results were written.", file=sys.stderr)
    return 3
  print(f"wrote {workdir}/results.json, results.csv, report.md and figures")
  for row in results["rows"]:
    cells = ", ".join(f"{m} {s['mean']:.3f}±{s['ci95']:.3f}" for m, s in row["summary"].items()
                      if m.endswith("_auc") or m.endswith("_acc"))
    print(f"  [{row['label']}] {cells}")
  return 0


if __name__ == "__main__":
  app.run(lambda argv: sys.exit(main(argv)))
