"""A quiet console: the progress display, warnings a user must act on, and the summary.

Log records are kept in memory from the start of a command and written to ``WORKDIR/log.txt``
once the run knows its work directory (:func:`route_logs`): this project's own lines (what ran,
each check, each checkpoint) and every library's warnings and errors. Library INFO records
(orbax's checkpoint-manager dumps, JAX probing for a TPU) go there too only when asked for
(``quiet_console(verbose=True)``: the launchers' ``--verbosity=1``). Only this project's warnings
and any library error reach the terminal.
"""

import logging
import logging.handlers
import re
import shlex
from typing import Dict, List, Sequence

_BUFFER = None
_VERBOSE = [False]


class LogFileFilter(logging.Filter):
  """What log.txt keeps: this project's records, and other libraries' from WARNING up (all of
  theirs too when verbose)."""

  def filter(self, record: logging.LogRecord) -> bool:
    return (record.name.startswith("simplicity_bias") or _VERBOSE[0]
            or record.levelno >= logging.WARNING)


class NoiseFilter(logging.Filter):
  """Passes this project's warnings and everyone's errors."""

  def filter(self, record: logging.LogRecord) -> bool:
    if record.name.startswith("simplicity_bias"):
      return record.levelno >= logging.WARNING
    return record.levelno >= logging.ERROR


def quiet_console(verbose: bool = False) -> None:
  """Filters the console handlers and starts buffering records for log.txt (library INFO
  records only when ``verbose``)."""
  global _BUFFER
  _VERBOSE[0] = verbose
  root = logging.getLogger()
  root.setLevel(logging.INFO)
  for handler in root.handlers:
    if not any(isinstance(f, NoiseFilter) for f in handler.filters):
      handler.addFilter(NoiseFilter())
  if _BUFFER is None:
    _BUFFER = logging.handlers.MemoryHandler(capacity=100_000, flushLevel=logging.CRITICAL + 1)
    _BUFFER.addFilter(LogFileFilter())
    root.addHandler(_BUFFER)


def route_logs(path: str) -> logging.Handler:
  """Sends every library log record (and those buffered so far) to ``path``."""
  global _BUFFER
  handler = logging.FileHandler(path, encoding="utf-8")
  handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
  handler.addFilter(LogFileFilter())
  root = logging.getLogger()
  root.setLevel(logging.INFO)
  if _BUFFER is not None:
    _BUFFER.setTarget(handler)
    _BUFFER.flush()
    root.removeHandler(_BUFFER)
    _BUFFER.close()
    _BUFFER = None
  root.addHandler(handler)
  return handler


# ----------------------------------------------------------------------------- the summary

def _metric_order(summary: Dict, headline: Sequence[str]) -> List[str]:
  """The experiment's headline metrics present in a row, in their declared order; for a run of
  member groups, their read-outs (``metric@readout``) and group measurements (``...@group``);
  when it declares none of the row's metrics, every accuracy and AUC."""
  chosen = [m for m in headline if m in summary]
  if not chosen:
    chosen = [m for m in summary if "@" in m and not m.endswith("@member_mean")
              and (m.split("@")[0] in headline or m.endswith("@group"))]
  return chosen or [m for m in summary if m.split("@")[0].endswith(("_auc", "_acc"))]


def summary_lines(results: Dict, headline: Sequence[str] = ()) -> List[str]:
  """The console summary of a run: one line per results row with the experiment's headline
  metrics (mean ± 95% CI over seeds), then the data each row was computed on when it is not
  what the experiment's name promises (a stand-in or generated data is flagged)."""
  lines = []
  for row in results["rows"]:
    summary = row["summary"]
    cells = ", ".join(f"{m} {summary[m]['mean']:.3f}±{summary[m]['ci95']:.3f}"
                      for m in _metric_order(summary, headline))
    lines.append(f"  [{row['label']}] {cells}")
  notes = list(dict.fromkeys(str(r.get("source") or r.get("data") or "")
                             for r in results["rows"]))
  for note in filter(None, notes):
    stand_in = any(w in note.lower() for w in ("not mnist", "not cifar", "stand-in", "mock",
                                               "generated"))
    lines.append(f"  {'NOT THE PAPER DATA: ' if stand_in else ''}data: {note}")
  lines.append("  (every metric, per seed: results.json; the report with figures: report.md)")
  return lines


def interrupted_message(error, argv: Sequence[str]) -> str:
  """The one line printed for an interrupted ``launch/train.py`` run (``error``: an
  :class:`~simplicity_bias.interrupts.Interrupted`), with the command that continues it."""
  where = f" {error.where}" if error.where else ""
  if not error.resumable:
    return (f"{error.signal_name}: interrupted{where}, before the first checkpoint: nothing to "
            "resume (the work directory was left as it was found); run the same command again.")
  args = [a for a in argv if not re.match(r"--config\.(resume|overwrite)=", a)]
  command = " ".join(shlex.quote(a) for a in ["python", *args, "--config.resume=True"])
  return f"{error.signal_name}: interrupted{where}; continue with: {command}"
