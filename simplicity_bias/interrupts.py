"""Ctrl-C and preemption as normal events: a stop request honoured at the next safe point.

A launcher calls :func:`install` once. From then on SIGINT (Ctrl-C) and SIGTERM (a scheduler's
preemption) do not raise inside whatever runs (an XLA compilation, a checkpoint write, the
interpreter's teardown): the handler only records the request. The run polls :func:`check` at its
safe points (between training segments, between cells and phases); the trainer first writes a
checkpoint of what is done, then :class:`Interrupted` unwinds to the launcher, which prints one
line and exits with ``128 + signal`` (130 for SIGINT, 143 for SIGTERM). A second signal while
the first is being honoured stops the process at once (no checkpoint is written then).
"""

import os
import signal
import sys
import threading
from typing import Optional

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}
_NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}

_requested: Optional[int] = None
_installed = {}


class Interrupted(Exception):
  """A stop request reached a safe point. ``where`` says what was stopped (e.g. "at update 40
  of 300 of cell 'fcn'"); ``resumable`` whether a checkpoint lets ``resume`` continue from it."""

  def __init__(self, signum: int, where: str = "", resumable: bool = False):
    super().__init__(where)
    self.signum = signum
    self.where = where
    self.resumable = resumable

  @property
  def exit_code(self) -> int:
    return EXIT_CODES.get(self.signum, 130)

  @property
  def signal_name(self) -> str:
    return _NAMES.get(self.signum, f"signal {self.signum}")


def _handle(signum, frame):
  del frame
  global _requested
  if _requested is not None:
    # The user insists: stop now, without unwinding through native code.
    sys.stderr.write(f"\n{_NAMES.get(signum, 'signal')} again: stopped at once, without a "
                     "checkpoint of the last steps.\n")
    sys.stderr.flush()
    os._exit(EXIT_CODES.get(signum, 130))
  _requested = signum
  sys.stderr.write(f"\n{_NAMES.get(signum, 'signal')}: stopping at the next safe point "
                   "(press it again to stop at once)...\n")
  sys.stderr.flush()


def install() -> None:
  """Routes SIGINT and SIGTERM to the stop request (main thread only; idempotent). Call it again
  after a library that replaces the handlers (``ray.init`` takes SIGTERM) to route them back;
  :func:`uninstall` still restores the handlers from before the first call."""
  if threading.current_thread() is not threading.main_thread():
    return
  for signum in EXIT_CODES:
    if signal.getsignal(signum) is not _handle:
      previous = signal.signal(signum, _handle)
      _installed.setdefault(signum, previous)


def uninstall() -> None:
  """Restores the handlers that :func:`install` replaced and forgets any request."""
  global _requested
  for signum, previous in list(_installed.items()):
    signal.signal(signum, previous)
    del _installed[signum]
  _requested = None


def requested() -> Optional[int]:
  """The signal number of a pending stop request, or None."""
  return _requested


def request(signum: int = signal.SIGINT) -> None:
  """Records a stop request as the handler does (for code that stops a run without a signal)."""
  global _requested
  _requested = signum


def clear() -> None:
  global _requested
  _requested = None


def check(where: str = "", resumable: bool = False) -> None:
  """Raises :class:`Interrupted` when a stop was requested (call it at a safe point)."""
  if _requested is not None:
    raise Interrupted(_requested, where, resumable)
