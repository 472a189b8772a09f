"""A quiet console: the progress bar, warnings a user must act on, and the summary.

Library logs (JAX probing for a TPU, orbax's checkpoint-manager dumps, absl INFO lines) are kept
in memory from the start of a command and written to ``WORKDIR/log.txt`` once the run knows its
work directory (:func:`route_logs`); only this project's warnings and any library error reach the
terminal.
"""

import logging
import logging.handlers

_BUFFER = None


class NoiseFilter(logging.Filter):
  """Passes this project's warnings and everyone's errors."""

  def filter(self, record: logging.LogRecord) -> bool:
    if record.name.startswith("simplicity_bias"):
      return record.levelno >= logging.WARNING
    return record.levelno >= logging.ERROR


def quiet_console() -> None:
  """Filters the console handlers and starts buffering every record for log.txt."""
  global _BUFFER
  root = logging.getLogger()
  root.setLevel(logging.INFO)
  for handler in root.handlers:
    if not any(isinstance(f, NoiseFilter) for f in handler.filters):
      handler.addFilter(NoiseFilter())
  if _BUFFER is None:
    _BUFFER = logging.handlers.MemoryHandler(capacity=100_000, flushLevel=logging.CRITICAL + 1)
    root.addHandler(_BUFFER)


def route_logs(path: str) -> logging.Handler:
  """Sends every library log record (and those buffered so far) to ``path``."""
  global _BUFFER
  handler = logging.FileHandler(path, encoding="utf-8")
  handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
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
