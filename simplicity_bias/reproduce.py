"""One claim config's run and its record: the step every launcher of ``launch/reproduce.py``
repeats per config (the serial loop in one process, or one Ray task per config,
:mod:`simplicity_bias.ray_launcher`), so the two launchers cannot drift.

  set_resume(config, run_dir, resume)          # before validating: resume only what started
  record = run_config(name, config, workdir, preset_label, records_dir)

``run_config`` runs ``pipeline.run(config, WORKDIR/<name>)``, judges the config's ledger
(``reproduction/ledger/<name>.json``) on the results and writes the record: each claim with its
spec hash, verdict and per-seed values; the command, commit, machine, setting and load
(``WORKDIR/<name>/reproduction.json`` and, unless the config could not run here,
``RECORDS_DIR/<name>.json``). A stop request
(:class:`~simplicity_bias.interrupts.Interrupted`) propagates and writes no record.
"""

import datetime
import os
import shlex
import sys
import time
from typing import Dict, List, Optional, Sequence

from simplicity_bias.report.reproduction import RECORD, training_time_so_far


def set_resume(config, run_dir: str, resume: bool) -> bool:
  """``resume`` continues the run in ``run_dir`` when it started (its ``config.json`` exists);
  otherwise the run starts afresh, replacing what is there. Returns whether it resumes."""
  resume = bool(resume) and os.path.exists(os.path.join(run_dir, "config.json"))
  with config.unlocked():
    config.resume = resume
    config.overwrite = not resume
  return resume


def run_config(name: str, config, workdir: str, preset_label: str,
               records_dir: Optional[str] = None, command: Optional[str] = None) -> Dict:
  """Runs one claim config into ``workdir/<name>`` and writes its record; returns the record
  (``{"claims": [...], "run": {..., "status": "ok" | "failed: ..." | "not run: ..."}}``).
  The claims are the config's ledger (:mod:`simplicity_bias.report.ledger`) judged on the results;
  ``config.resume`` (:func:`set_resume`) decides whether an earlier run there is continued; the
  record's wall time then adds the earlier segments' training time."""
  from simplicity_bias import pipeline
  from simplicity_bias.report import ledger
  from simplicity_bias.configs import load_config
  from simplicity_bias.report.machine import git_commit, load1
  from simplicity_bias.validation import ConfigError, NonFiniteLossError
  claims_ledger = ledger.load(name)
  preset = "default" if preset_label in ("", "default") else preset_label
  start, load_start, commit = time.perf_counter(), load1(), git_commit()
  claims = []
  run_dir = os.path.join(workdir, name)
  earlier_s = training_time_so_far(run_dir) if config.get("resume", False) else 0.0
  setting = ledger.setting(claims_ledger, config, load_config(name, ""), preset)
  try:
    results = pipeline.run(config, run_dir)
    status = "ok"
    claims = ledger.judge(claims_ledger, results, preset)
  except NonFiniteLossError as e:
    status = f"failed: {e}"
  except ConfigError as e:  # e.g. a dataset that is not prepared on this machine
    status = f"not run: {e}"
  provenance = {"command": command or " ".join(shlex.quote(a) for a in sys.argv),
                "commit": commit, "load_start": load_start, "load_end": load1(), **setting}
  return write_record(workdir, name, preset_label, config.num_seeds, status, claims,
                      earlier_s + time.perf_counter() - start, earlier_s, records_dir,
                      provenance=provenance)


def write_record(workdir: str, name: str, preset_label: str, num_seeds: int, status: str,
                 claims: List[Dict], wall_s: float, earlier_s: float = 0.0,
                 records_dir: Optional[str] = None, machine: Optional[str] = None,
                 provenance: Optional[Dict] = None) -> Dict:
  """Writes ``workdir/<name>/reproduction.json`` and, unless the config could not run here (a
  "not run" status leaves the committed record of an earlier run alone), ``records_dir``'s.
  ``provenance``: the command, commit, 1-minute load at start and end, and the setting."""
  from simplicity_bias.report.machine import describe
  from simplicity_bias.report.results import write_json
  run = {"name": name, "preset": preset_label, "num_seeds": num_seeds,
         "machine": machine or describe(), "date": datetime.date.today().isoformat(),
         "wall_s": wall_s, "status": status, **(provenance or {})}
  if earlier_s:
    run["resumed_after_s"] = earlier_s
  record = {"ledger_version": 1, "claims": claims, "run": run}
  write_json(os.path.join(workdir, name, RECORD), record)
  if records_dir and not status.startswith("not run"):
    write_json(os.path.join(records_dir, f"{name}.json"), record)
  return record


def continue_command(argv: Sequence[str], rest: Sequence[str]) -> str:
  """The command that continues an interrupted reproduction: ``argv`` with ``--only`` the
  configs in ``rest`` (those that did not finish) and ``--resume``."""
  args = [a for a in argv if not a.startswith(("--only", "--resume", "--noresume"))]
  return " ".join(shlex.quote(a) for a in ["python", *args, f"--only={','.join(rest)}",
                                           "--resume"])
