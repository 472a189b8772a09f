r"""Runs every claim's config in sequence and writes REPRODUCTION.md.

  python launch/reproduce.py --workdir=workdirs/reproduce              # reduced CPU variants
  python launch/reproduce.py --preset=default --workdir=W              # the paper's sizes
  python launch/reproduce.py --only=lms5,theorem1_lsn --workdir=W
  python launch/reproduce.py --only=cifar_only --workdir=W --records=reproduction \
      --output=REPRODUCTION.md                                        # update the committed table

The claim configs come from the experiment registry (``simplicity_bias.experiments``). Each runs
``configs/<name>.py:<preset>`` into ``W/<name>/`` (results.json, figures, report.md; an earlier
run there is replaced, or continued with ``--resume``) and records its claims in
``W/<name>/reproduction.json``: each claim of the config's ledger
(``reproduction/ledger/<name>.json``, written before the run) judged on the seeds' 95% CI
(pass / fail / inconclusive; ``simplicity_bias/report/ledger.py``). The table is rebuilt from
every record in ``W``, so runs accumulate: ``--only`` reruns some configs (e.g. the image ones on
a GPU machine, ``--preset=default``) and keeps the others' rows. Groups: the paper's claims in
the paper's setting, the paper's claims in a reduced setting (tallied apart), claims not testable
as run, extensions (reported, not counted), amendments, notes and configs that did not run (with
the reason). All configs and their ledgers are validated before the first one trains; an image config whose datasets are not
prepared is recorded as not run, with the reason. The paper-size presets' costs come from the
committed records and benchmarks (``simplicity_bias/report/costs.py``).

Image data: the configs that read datasets from files look in ``--data_dir``, else
``$TFDS_DATA_DIR``, else ``~/tensorflow_datasets`` (``launch/build_datasets.py`` prepares them);
the configs that generate their data ignore ``--data_dir``.

``--records=DIR`` keeps one record per config beside the table (this repository's
``reproduction/``, committed with REPRODUCTION.md): a config without a record in ``W`` takes its
row from ``DIR``, and every run also writes its record there. So one config can be rerun on any
machine and the committed table regenerated without rerunning the others. ``--render_only`` runs
nothing and rebuilds the table of every config from the records in ``W`` (which must exist) and
``DIR``; it does not take ``--only``.

``--launcher=ray`` runs each config as a Ray task instead of one after another (the same run and
record; ``pip install -e ".[ray]"``): on a local instance (``--ray_num_cpus``, default all CPUs)
or on a cluster (``--ray_address=auto`` on one of its nodes; ``launch/MULTIHOST.md``), with
``--ray_cpus_per_task`` CPUs per task and ``--ray_gpus_per_image_task`` GPUs per image config
(default: 1 where the cluster has GPUs). A task that fails or is preempted is retried
(``--ray_max_retries``) and continues from its checkpoints; one that still fails is listed as
failed. ``simplicity_bias/ray_launcher.py`` describes it.

  python launch/reproduce.py --launcher=ray --ray_num_cpus=2 --preset=smoke --workdir=W

Exit status: 0 when every requested config ran; 1 when one did not (not run, e.g. its data is
missing, or failed): the table is still written, and the last line of the output names them; 2
for bad input.
"""

import os
import shlex
import sys

from absl import app, flags

from simplicity_bias.configs import absl_parser
from simplicity_bias.data.store import data_dir_order
from simplicity_bias.report.reproduction import collect, table, tally

_WORKDIR = flags.DEFINE_string("workdir", None, "Output directory (one folder per claim).")
_PRESET = flags.DEFINE_string("preset", "cpu", "Config preset: 'cpu' (reduced variants), "
                              "'default' (the paper's sizes) or 'smoke'.")
_ONLY = flags.DEFINE_list("only", [], "Subset of claim configs to run (default: all); not with "
                          "--render_only, which renders every config's record.")
_RENDER_ONLY = flags.DEFINE_bool("render_only", False, "Run nothing: rebuild the table of every "
                                  "config from the records already in WORKDIR (which must "
                                  "exist) and --records.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "Directory of the prepared image datasets, "
                                "for the configs that read data from files (the others ignore "
                                f"it). First set wins: {data_dir_order(config_field=False)}. "
                                "With --preset=smoke the image configs read generated mock "
                                "data unless --data_dir is given.")
_RESUME = flags.DEFINE_bool("resume", False, "Continue interrupted runs in WORKDIR/<name> "
                            "instead of replacing them (the record's wall time then adds the "
                            "training time of the earlier segments).")
_RECORDS = flags.DEFINE_string("records", None, "Directory of committed per-config records "
                               "(<name>.json): rows for configs WORKDIR has no record of, and "
                               "where each new run's record is also written.")
_OUTPUT = flags.DEFINE_string("output", None, "Where to write the table (default "
                              "WORKDIR/REPRODUCTION.md).")
_LAUNCHER = flags.DEFINE_enum("launcher", "serial", ["serial", "ray"], "'serial': the configs "
                              "one after another in this process; 'ray': each config as a Ray "
                              "task (pip install -e \".[ray]\").")
_RAY_ADDRESS = flags.DEFINE_string("ray_address", None, "With --launcher=ray: the address of a "
                                   "running Ray cluster ('auto': the one started on this node); "
                                   "default: start a local Ray instance.")
_RAY_NUM_CPUS = flags.DEFINE_integer("ray_num_cpus", None, "With --launcher=ray and no "
                                     "--ray_address: the CPUs of the local Ray instance "
                                     "(default: all).")
_RAY_CPUS_PER_TASK = flags.DEFINE_float("ray_cpus_per_task", 1.0, "With --launcher=ray: the CPUs "
                                        "Ray reserves for each config's task.")
_RAY_GPUS = flags.DEFINE_integer("ray_gpus_per_image_task", None, "With --launcher=ray: the GPUs "
                                 "Ray reserves for each image config's task (default: 1 when "
                                 "the cluster has GPUs at the start, else 0).")
_RAY_MAX_RETRIES = flags.DEFINE_integer("ray_max_retries", 2, "With --launcher=ray: how often a "
                                        "failed or preempted task is retried (each retry "
                                        "continues from its checkpoints).")
_RAY_FLAGS = ("ray_address", "ray_num_cpus", "ray_cpus_per_task", "ray_gpus_per_image_task",
              "ray_max_retries")


def check_launcher_flags():
  """The --launcher and --ray_* flags' error (None when they are consistent)."""
  given = [f"--{f}" for f in _RAY_FLAGS if flags.FLAGS[f].present]
  if _LAUNCHER.value != "ray":
    if given:
      return (f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} only with "
              "--launcher=ray.")
    return None
  if _RAY_ADDRESS.value and _RAY_NUM_CPUS.value is not None:
    return ("--ray_num_cpus sizes the local Ray instance that starts without --ray_address; a "
            "cluster brings its own CPUs: drop one of them.")
  if _RAY_NUM_CPUS.value is not None and _RAY_NUM_CPUS.value < 1:
    return f"--ray_num_cpus={_RAY_NUM_CPUS.value} must be at least 1."
  if _RAY_CPUS_PER_TASK.value <= 0:
    return f"--ray_cpus_per_task={_RAY_CPUS_PER_TASK.value:g} must be positive."
  if _RAY_GPUS.value is not None and _RAY_GPUS.value < 0:
    return f"--ray_gpus_per_image_task={_RAY_GPUS.value} must be 0 or more."
  if _RAY_MAX_RETRIES.value < 0:
    return f"--ray_max_retries={_RAY_MAX_RETRIES.value} must be 0 or more."
  return None


def main(argv):
  del argv
  # The command line is checked before the imports below, which take seconds.
  if not _WORKDIR.value:
    print("error: --workdir is required.", file=sys.stderr)
    return 2
  workdir = os.path.abspath(_WORKDIR.value)
  if _RENDER_ONLY.value and _ONLY.value:
    print("error: --render_only renders every config's record and runs none, so --only has "
          "nothing to select; drop one of them.", file=sys.stderr)
    return 2
  if _RENDER_ONLY.value and not os.path.isdir(workdir):
    print(f"error: --render_only reads the records in --workdir={workdir}, which does not "
          "exist.", file=sys.stderr)
    return 2
  error = check_launcher_flags()
  if error:
    print(f"error: {error}", file=sys.stderr)
    return 2
  use_ray = _LAUNCHER.value == "ray" and not _RENDER_ONLY.value
  if use_ray:
    from simplicity_bias import ray_launcher
    try:
      ray_launcher.require_ray()
    except ImportError as e:
      print(e, file=sys.stderr)
      return 2
  from simplicity_bias import interrupts, pipeline
  from simplicity_bias.configs import apply_data_dir, load_config
  from simplicity_bias.experiments import claim_configs, get_experiment
  from simplicity_bias.report import costs, ledger
  from simplicity_bias.report.console import quiet_console
  from simplicity_bias.report.results import atomic_write_text, write_json
  from simplicity_bias.reproduce import continue_command, run_config, set_resume
  from simplicity_bias.validation import ConfigError
  quiet_console()
  interrupts.install()
  from simplicity_bias import compile_cache
  compile_cache.enable()
  all_names = [name for name, _ in claim_configs()]
  names = _ONLY.value or all_names
  unknown = [n for n in names if n not in all_names]
  if unknown:
    print(f"error: --only names unknown claim configs {unknown}; valid: {', '.join(all_names)}.",
          file=sys.stderr)
    return 2
  preset = "" if _PRESET.value == "default" else _PRESET.value
  try:
    configs = {}
    for n in ([] if _RENDER_ONLY.value else names):
      configs[n] = load_config(n, preset)
      apply_data_dir(configs[n], _DATA_DIR.value)
      # --resume continues the runs that started; a config that never started starts afresh.
      set_resume(configs[n], os.path.join(workdir, n), _RESUME.value)
      getattr(get_experiment(configs[n].experiment), "cells", pipeline.default_cells)(configs[n])
      ledger.load(n)  # every claim is specified before its config runs
    ledger.load_amendments()
  except ConfigError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  if use_ray:
    statuses = _run_on_ray(configs, workdir)
    if isinstance(statuses, int):
      return statuses  # interrupted, or the cluster could not be reached
  else:
    statuses = {}
    for position, n in enumerate(configs):
      print(f"== {n} ({_PRESET.value}) ==", flush=True)
      try:
        run = run_config(n, configs[n], workdir, _PRESET.value, _RECORDS.value,
                         command=" ".join(shlex.quote(a) for a in sys.argv))["run"]
      except interrupts.Interrupted as e:
        # No record for a run cut short: the command below continues it and the configs after it.
        command = continue_command(sys.argv, list(configs)[position:])
        print(f"{e.signal_name}: interrupted in {n}{' ' + e.where if e.where else ''}; continue "
              f"with: {command}", file=sys.stderr)
        return e.exit_code
      statuses[n] = run["status"]
      print(f"   {run['status']} in {run['wall_s'] / 60:.1f} min", flush=True)
  did_not_run = [n for n in configs if statuses[n] != "ok"]
  claims, runs = collect(workdir, all_names, _RECORDS.value)
  output = _OUTPUT.value or os.path.join(workdir, "REPRODUCTION.md")
  atomic_write_text(output, table(claims, runs, costs.table_cells(
      all_names, _RECORDS.value or costs.RECORDS_DIR)))
  write_json(os.path.join(workdir, "claims.json"), {"claims": claims, "runs": runs})
  paper = [c for c in claims if c.get("kind", "paper") == "paper"]
  counts = {s: tally([c for c in paper if (c.get("setting") == "paper") == (s == "paper")])
            for s in ("paper", "reduced")}
  print(f"wrote {output}: " + "; ".join(
      f"{s} setting {t['pass']} pass, {t['fail']} fail, {t['inconclusive']} inconclusive"
      for s, t in counts.items()), flush=True)
  if did_not_run:
    print(f"error: {len(did_not_run)} of {len(configs)} requested configs did not run (see "
          f"{output}'s Not run list): {', '.join(did_not_run)}.", file=sys.stderr)
    return 1
  return 0


def _run_on_ray(configs, workdir):
  """Each config as a Ray task: {name: status}, or the exit status when the launch stopped."""
  from simplicity_bias import interrupts, ray_launcher
  from simplicity_bias.reproduce import continue_command
  try:
    cluster = ray_launcher.init(_RAY_ADDRESS.value, _RAY_NUM_CPUS.value)
  except (ConnectionError, RuntimeError, ValueError) as e:
    where = f"the Ray cluster at {_RAY_ADDRESS.value}" if _RAY_ADDRESS.value else "Ray"
    print(f"error: could not start {where}: {e}", file=sys.stderr)
    return 2
  try:
    cpus = _RAY_CPUS_PER_TASK.value
    print(f"== {len(configs)} configs as Ray tasks on {cluster}, {cpus:g} "
          f"CPU{'' if cpus == 1 else 's'} each ==", flush=True)
    launch = ray_launcher.run(configs, workdir, _PRESET.value, _RECORDS.value, _RESUME.value,
                              _RAY_CPUS_PER_TASK.value, _RAY_GPUS.value, _RAY_MAX_RETRIES.value,
                              command=" ".join(shlex.quote(a) for a in sys.argv))
  finally:
    ray_launcher.shutdown()
  if launch.interrupted is not None:
    e = launch.interrupted
    command = continue_command(sys.argv, launch.unfinished)
    print(f"{e.signal_name}: interrupted while {', '.join(launch.unfinished)} ran; continue "
          f"with: {command}", file=sys.stderr)
    return e.exit_code
  return launch.statuses


if __name__ == "__main__":
  app.run(lambda argv: sys.exit(main(argv)), flags_parser=absl_parser())
