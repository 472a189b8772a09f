r"""Runs one experiment: ``python launch/train.py --config=configs/<claim>.py[:preset] --workdir=DIR``.

Override any config field with ``--config.FIELD=VALUE`` (e.g. ``--config.num_seeds=16``);
``--print_config`` prints the resolved config (every field and its value) and exits. Writes
``DIR/config.json`` (first), ``DIR/log.txt``, ``DIR/metrics.jsonl``, and at the end
``DIR/results.json``, ``DIR/results.csv``, figures ``DIR/*.png`` and ``DIR/report.md``. A DIR
that holds files is refused unless ``--config.resume=True`` (continue that run) or
``--config.overwrite=True`` (replace it). Bad input exits with status 2 and one sentence naming
the field; a NaN/inf loss exits with status 3 and writes no results. Ctrl-C (SIGINT) or SIGTERM
stops the run at the next safe point with a checkpoint of what is done, prints the command that
continues it, and exits with status 130 / 143. A run that stops before training (missing data,
an early interrupt) leaves the work directory as it found it.

Image data is read from ``--config.data.data_dir``, else ``--data_dir``, else
``$TFDS_DATA_DIR``, else ``~/tensorflow_datasets`` (``launch/build_datasets.py`` prepares it);
a config that generates its data ignores ``--data_dir``. On a CPU, the paper-size (default)
preset of a config with a reduced ``:cpu`` preset first prints one line: its measured cost (or
"not measured") and the ``:cpu`` preset's.
"""

import os
import sys

from absl import app, flags

from simplicity_bias import interrupts
from simplicity_bias.configs import absl_parser, data_dir_flag_help
from simplicity_bias.report.console import interrupted_message, quiet_console, summary_lines
from simplicity_bias.validation import ConfigError, NonFiniteLossError

_WORKDIR = flags.DEFINE_string("workdir", None, "Output directory (created if missing).")
_PRINT = flags.DEFINE_bool("print_config", False, "Print the resolved, validated config and "
                           "exit; --config.FIELD=VALUE overrides any field shown.")
flags.DEFINE_string("config", None, "Experiment config file, configs/<claim>.py[:preset]; "
                    "override fields with --config.FIELD=VALUE.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, data_dir_flag_help())
_CACHE = flags.DEFINE_bool("compilation_cache", True, "Keep compiled programs on disk between "
                           "runs (see simplicity_bias/compile_cache.py).")

_ARGS = {}


def config_comments(config, spec: str) -> str:
  """What ``--print_config`` prints after the config, as comment lines: the directory image
  data is read from (for configs that read files) and the preset's cost (measured or not,
  ``simplicity_bias.report.costs``)."""
  import ml_collections
  from simplicity_bias.data.store import describe_data_dir
  from simplicity_bias.report import costs
  lines = []
  data = config.get("data")
  if isinstance(data, ml_collections.ConfigDict) and "data_dir" in data:
    lines.append(f"# data directory: {describe_data_dir(data.data_dir)}")
  lines.append(f"# cost of this preset: {costs.estimate(spec).text()}")
  return "\n".join(lines)


def main(argv):
  interrupts.install()
  quiet_console(verbose=flags.FLAGS.verbosity >= 1)
  if _CACHE.value:
    from simplicity_bias import compile_cache
    compile_cache.enable()
  if len(argv) > 1:
    print(f"error: unexpected arguments {argv[1:]}; pass options as --name=value.",
          file=sys.stderr)
    return 2
  from simplicity_bias import pipeline
  from simplicity_bias.configs import resolve
  from simplicity_bias.experiments import get_experiment
  from simplicity_bias.report.costs import cpu_note
  try:
    config = resolve(_ARGS, data_dir=_DATA_DIR.value)
    if config.get("distributed", False) and not _PRINT.value:
      # Before anything else runs on a device: validation below already uses JAX.
      from simplicity_bias.train.distributed import initialize_distributed
      initialize_distributed()
    experiment = get_experiment(config.experiment)
    getattr(experiment, "cells", pipeline.default_cells)(config)
    if _PRINT.value:
      print(config)
      print(config_comments(config, _ARGS["spec"]))
      return 0
    if not _WORKDIR.value:
      raise ConfigError("--workdir is required: the directory the run writes into.")
    workdir = os.path.abspath(_WORKDIR.value)
    note = cpu_note(_ARGS["spec"])
    if note:
      print(note, flush=True)
    results = pipeline.run(config, workdir)
  except ConfigError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  except NonFiniteLossError as e:
    print(f"error: {e} No results were written.", file=sys.stderr)
    return 3
  except interrupts.Interrupted as e:
    print(interrupted_message(e, sys.argv), file=sys.stderr)
    return e.exit_code
  print(f"wrote {workdir}/results.json, results.csv, report.md and figures")
  for line in summary_lines(results, getattr(experiment, "HEADLINE", ())):
    print(line)
  return 0


if __name__ == "__main__":
  app.run(lambda argv: sys.exit(main(argv)), flags_parser=absl_parser(_ARGS))
