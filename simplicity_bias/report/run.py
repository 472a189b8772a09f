"""The work directory of one run: the only place results, logs and figures are written.

Rule for an existing directory: a run refuses a work directory that holds files unless it is told
what to do with them: ``resume`` (continue the run whose ``config.json`` is there, refused when the
settings differ) or ``overwrite`` (delete everything an earlier run wrote there first). Nothing
is left mixed: ``config.json`` is written before training starts, results files appear only at
the end, each by an atomic rename, so a killed run leaves its config, log and metrics lines —
never results of another run beside them.

Files: ``config.json``, ``log.txt`` (library logs), ``metrics.jsonl`` (one line per check),
``results.json`` / ``results.csv`` / ``report.md``, figures ``*.png``, ``checkpoints/``.
"""

import json
import logging
import os
import re
import shutil
import tempfile
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from simplicity_bias import interrupts
from simplicity_bias.progress import Display
from simplicity_bias.report import markdown
from simplicity_bias.report.console import route_logs
from simplicity_bias.report.results import (atomic_write_text, json_default, write_json,
                                            write_results)
from simplicity_bias.validation import ConfigError

_LOG = logging.getLogger("simplicity_bias.run")

# Files and folders a run owns (what ``overwrite`` deletes).
OWNED_FILES = ("config.json", "results.json", "results.csv", "report.md", "metrics.jsonl",
               "log.txt")
OWNED_DIRS = ("checkpoints",)
# Config fields a resumed run may change.
RESUMABLE_FIELDS = ("resume", "overwrite", "progress", "checkpoint_every_s")


def _comparable(config_dict: Dict) -> Dict:
  return json.loads(json.dumps({k: v for k, v in config_dict.items()
                                if k not in RESUMABLE_FIELDS}, default=json_default))


def prepare_workdir(workdir: str, config, resume: bool = False, overwrite: bool = False) -> bool:
  """Checks (and with ``overwrite`` clears) ``workdir`` before any work; ConfigError if unusable.

  Returns whether the directory had to be created (so a run that fails before training can
  leave the file system as it found it: :meth:`RunWriter.discard`)."""
  created = not os.path.exists(workdir)
  if os.path.exists(workdir) and not os.path.isdir(workdir):
    raise ConfigError(f"--workdir={workdir} is an existing file, not a directory; choose "
                      "another path.")
  try:  # the real test: a file created and removed (permissions alone mislead, e.g. for root)
    os.makedirs(workdir, exist_ok=True)
    probe = tempfile.NamedTemporaryFile(dir=workdir, prefix=".write-test-")
    probe.close()
  except OSError as e:
    raise ConfigError(f"--workdir={workdir} is not writable ({e.strerror}); choose a directory "
                      "you can write to.") from None
  if resume and overwrite:
    raise ConfigError("resume=True and overwrite=True contradict each other; use one.")
  entries = sorted(os.listdir(workdir)) if os.path.isdir(workdir) else []
  if not entries:
    if resume:
      if created:
        os.rmdir(workdir)
      raise ConfigError(f"resume=True but {workdir} holds no earlier run; drop resume.")
    return created
  saved = os.path.join(workdir, "config.json")
  if resume:
    if not os.path.exists(saved):
      raise ConfigError(f"resume=True but {workdir} has no config.json of an earlier run; "
                        "drop resume or choose the earlier run's directory.")
    with open(saved, encoding="utf-8") as f:
      before = _comparable(json.load(f))
    now = _comparable(config.to_dict())
    if before != now:
      changed = sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))
      raise ConfigError(f"resume=True but {saved} was written with other settings (fields "
                        f"{changed} differ); rerun with those settings, or use "
                        "--config.overwrite=True to start over.")
    return created
  if overwrite:
    for name in entries:
      path = os.path.join(workdir, name)
      if name in OWNED_FILES or name.endswith(".png") or name.startswith(".tmp-"):
        os.remove(path)
      elif name in OWNED_DIRS and os.path.isdir(path):
        shutil.rmtree(path)
    return created
  raise ConfigError(f"--workdir={workdir} already holds files ({', '.join(entries[:4])}"
                    f"{', ...' if len(entries) > 4 else ''}); use a new directory, "
                    "--config.resume=True to continue that run, or --config.overwrite=True to "
                    "replace it.")


class RunWriter:
  """Writes one run's files into ``workdir`` (or nothing at all when ``workdir`` is empty).

  ``write`` is False on processes other than 0 of a multi-process job: they compute the same
  results but leave the files to process 0.
  """

  def __init__(self, workdir: str, config, write: bool = True, display: Optional[Display] = None):
    self.workdir = os.path.abspath(workdir) if workdir else ""
    self.config = config
    self.enabled = bool(workdir) and write
    self.display = display if display is not None else Display(enabled=False)
    self.figures: List[Tuple[str, str]] = []
    # What cells keep for the figures of the whole run (arrays in memory, never written).
    self.kept: Dict[str, Any] = {}
    self.training_started = False   # set when the first cell starts training
    self._cells: Dict[str, List[Dict]] = {}
    self._log_handler: Optional[logging.Handler] = None

  # -- lifecycle ---------------------------------------------------------------------------------

  def start(self) -> "RunWriter":
    """Writes config.json and routes library logs to log.txt (the workdir was prepared)."""
    if not self.enabled:
      return self
    os.makedirs(self.workdir, exist_ok=True)
    write_json(self.path("config.json"), self.config.to_dict())
    self._log_handler = route_logs(self.path("log.txt"))
    resumed = os.path.exists(self.path("metrics.jsonl")) and self.config.get("resume", False)
    _LOG.info("%s run of %s in %s", "resumed" if resumed else "new",
              self.config.get("experiment", "?"), self.workdir)
    if not resumed:
      atomic_write_text(self.path("metrics.jsonl"), "")
    else:
      self._load_metrics()
    return self

  def close(self) -> None:
    if self._log_handler is not None:
      _LOG.info("run closed")
      logging.getLogger().removeHandler(self._log_handler)
      self._log_handler.close()
      self._log_handler = None

  def discard(self, remove_dir: bool) -> None:
    """Deletes what this run wrote (a run that stopped before it had anything to keep), and
    the work directory itself when ``remove_dir`` and it is then empty; call after close()."""
    if not self.enabled or not os.path.isdir(self.workdir):
      return
    for name in os.listdir(self.workdir):
      path = self.path(name)
      if name in OWNED_FILES or name.endswith(".png") or name.startswith(".tmp-"):
        os.remove(path)
      elif name in OWNED_DIRS and os.path.isdir(path):
        shutil.rmtree(path)
    if remove_dir and not os.listdir(self.workdir):
      os.rmdir(self.workdir)

  def has_checkpoint(self) -> bool:
    """Whether any cell of this work directory has a checkpoint to resume from."""
    root = self.path("checkpoints")
    return self.enabled and os.path.isdir(root) and any(
        entry.name.isdigit() for cell in os.scandir(root) if cell.is_dir()
        for entry in os.scandir(cell.path))

  def phase(self, name: str):
    """``with writer.phase("drawing the UAP"):`` shows the phase on the run's display."""
    return self.display.phase(name)

  def path(self, name: str) -> str:
    return os.path.join(self.workdir, name)

  def checkpoint_dir(self, label: str) -> str:
    return self.path(os.path.join("checkpoints", re.sub(r"\W+", "_", label).strip("_") or "run"))

  # -- metrics.jsonl -----------------------------------------------------------------------------

  def _load_metrics(self):
    with open(self.path("metrics.jsonl"), encoding="utf-8") as f:
      for line in f:
        if line.strip():
          record = json.loads(line)
          self._cells.setdefault(record.get("cell", ""), []).append(record)

  def metrics_logger(self, cell: str) -> Optional[Callable[[Dict], None]]:
    """``on_eval`` callback appending one line per check, tagged with the cell's label."""
    if not self.enabled:
      return None

    def log(record: Dict) -> None:
      _LOG.info("%s: check at update %s", cell or "run", record.get("step"))
      line = {"cell": cell, **record} if cell else dict(record)
      with open(self.path("metrics.jsonl"), "a", encoding="utf-8") as f:
        f.write(json.dumps(line, default=json_default) + "\n")

    return log

  def cell_history(self, cell: str, history: Sequence[Dict]) -> None:
    """Replaces the cell's lines with its complete history (a resumed cell logged checks past
    its last checkpoint before it was killed; those lines are dropped)."""
    if not self.enabled:
      return
    self._cells[cell] = [{"cell": cell, **r} if cell else dict(r) for r in history]
    atomic_write_text(self.path("metrics.jsonl"), "".join(
        json.dumps(r, default=json_default) + "\n" for records in self._cells.values()
        for r in records))

  # -- outputs -----------------------------------------------------------------------------------

  def figure(self, name: str, caption: str, draw: Callable, *args, **kwargs) -> None:
    """Draws a figure with ``draw(path, *args, **kwargs)`` (a ``report.figures`` function)."""
    if not self.enabled:
      return
    with self.display.phase(f"drawing {name}"):
      draw(self.path(name), *args, **kwargs)
    self.figures.append((name, caption))
    interrupts.check(f"while drawing {name}", resumable=self.has_checkpoint())

  def document(self, name: str, text: str) -> None:
    """A text document of the run (e.g. LEADERBOARD.md), written atomically."""
    if not self.enabled:
      return
    tmp = self.path(name) + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
      f.write(text)
    os.replace(tmp, self.path(name))

  def results(self, results: Dict, title: str, intro: str, metrics: Sequence[str],
              notes: Sequence[str] = ()) -> None:
    """results.json, results.csv and report.md (each written atomically)."""
    if not self.enabled:
      return
    with self.display.phase("writing results"):
      write_results(self.workdir, results)
      markdown.write_report(self.workdir, title, intro, results, metrics, self.figures, notes)
