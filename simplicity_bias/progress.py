"""One progress display per run: every phase of every cell, never silent for long.

A run moves through phases (loading data, compiling, training, evaluating, drawing figures,
writing results), once per cell. :class:`Display` shows the current one with the cell's name,
its place among the cells and the elapsed time:

* on a terminal, one live line (a tqdm bar while training, a status line otherwise) refreshed
  every second by a background ticker, so a long compilation or evaluation still shows its clock;
* elsewhere (a log file, CI), plain lines, each stamped with the run's elapsed time: one when a
  phase starts, and during training one every ``line_every_s`` seconds and one at its end
  (never carriage returns).

``Display(enabled=False)`` shows nothing; the code that reports phases does not change.
"""

import contextlib
import sys
import threading
import time
from typing import Optional

from tqdm.auto import tqdm


def _is_terminal(stream) -> bool:
  try:
    return bool(stream.isatty())
  except (AttributeError, ValueError):
    return False


def _duration(seconds: float) -> str:
  if seconds < 60:
    return f"{seconds:.1f} s"
  minutes, seconds = divmod(int(round(seconds)), 60)
  if minutes < 60:
    return f"{minutes} min {seconds:02d} s"
  hours, minutes = divmod(minutes, 60)
  return f"{hours} h {minutes:02d} min"


def _clock(seconds: float) -> str:
  minutes, seconds = divmod(int(seconds), 60)
  hours, minutes = divmod(minutes, 60)
  return f"{hours}:{minutes:02d}:{seconds:02d}"


class LineBar:
  """A training bar for non-terminal output: a line at most every ``every_s`` seconds and one at
  the end, with the same calls as the tqdm bar the trainer uses on a terminal."""

  def __init__(self, display: "Display", total: int, initial: int, desc: str, unit: str,
               every_s: float):
    self._display, self.total, self.n, self.desc, self.unit = display, total, initial, desc, unit
    self._every_s, self._postfix, self._start = every_s, "", time.monotonic()
    self._last_line = self._start

  def update(self, n: int = 1) -> None:
    self.n += n
    if time.monotonic() - self._last_line >= self._every_s:
      self._line()

  def set_postfix(self, **kwargs) -> None:
    self._postfix = ", ".join(f"{k}={v}" for k, v in kwargs.items())

  def set_description_str(self, desc: str) -> None:
    self.desc = desc

  def refresh(self) -> None:
    pass

  def _line(self) -> None:
    self._last_line = time.monotonic()
    share = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
    post = f", {self._postfix}" if self._postfix else ""
    self._display.write(f"{self.desc}: {self.unit} {self.n}/{self.total}{share}, "
                        f"{_duration(time.monotonic() - self._start)}{post}")

  def close(self) -> None:
    if self._display is not None:
      self._line()
      self._display = None


class Display:
  """The progress display of one run (see the module docstring)."""

  def __init__(self, enabled: bool = True, stream=None, terminal: Optional[bool] = None,
               tick_s: float = 1.0, line_every_s: float = 30.0):
    self.enabled = enabled
    self.stream = stream if stream is not None else sys.stderr
    self.terminal = _is_terminal(self.stream) if terminal is None else terminal
    self.num_cells = 0
    self._cell = 0
    self._label = ""
    self._tick_s, self._line_every_s = tick_s, line_every_s
    self._live = None              # the tqdm object the ticker refreshes
    self._lock = threading.Lock()
    self._stop = threading.Event()
    self._ticker: Optional[threading.Thread] = None
    self._start = time.monotonic()

  # -- where the run is ----------------------------------------------------------------------

  def cell(self, label: str) -> None:
    """A new cell starts (a run_cell call): later phases are shown under its name."""
    self._cell += 1
    self._label = label

  def whole_run(self) -> None:
    """The cells are done: later phases (the run's figures, its results) belong to no cell."""
    self._cell, self._label = 0, ""

  def prefix(self) -> str:
    count = (f"{self._cell}/{self.num_cells}" if 0 < self._cell <= self.num_cells
             else str(self._cell) if self._cell else "")
    parts = [p for p in (count, self._label) if p]
    return f"[{' '.join(parts)}] " if parts else ""

  # -- output --------------------------------------------------------------------------------

  def write(self, text: str) -> None:
    """One line above any live bar."""
    if not self.enabled:
      return
    if self.terminal:
      tqdm.write(text, file=self.stream)
    else:
      print(f"[{_clock(self.elapsed())}] {text}", file=self.stream, flush=True)

  def note(self, text: str) -> None:
    """A line a user should read (shown even when the display is off)."""
    if self.enabled:
      self.write(text)
    else:
      print(text, file=sys.stderr, flush=True)

  @contextlib.contextmanager
  def phase(self, name: str):
    """Shows ``name`` (with the cell and a running clock) while the block runs."""
    if not self.enabled:
      yield
      return
    desc = f"{self.prefix()}{name}"
    if self.terminal:
      status = tqdm(total=None, desc=desc, bar_format="{desc} ({elapsed})", file=self.stream,
                    leave=False, dynamic_ncols=True)
      self._set_live(status)
      try:
        yield
      finally:
        self._set_live(None)
        status.close()
    else:
      self.write(f"{desc} ...")
      yield

  def bar(self, total: int, initial: int, desc: str, unit: str):
    """The training bar: a tqdm bar on a terminal, a :class:`LineBar` elsewhere."""
    desc = f"{self.prefix()}{desc}"
    if not self.enabled:
      return tqdm(total=total, initial=initial, disable=True)
    if not self.terminal:
      self.write(f"{desc}: training from update {initial} of {total} (the first segment "
                 "compiles the step)")
      return LineBar(self, total, initial, desc, unit, self._line_every_s)
    bar = _LiveBar(self, total=total, initial=initial, unit=unit, desc=desc, file=self.stream,
                   dynamic_ncols=True, leave=True)
    self._set_live(bar)
    return bar

  def close(self) -> None:
    self._set_live(None)
    self._stop.set()
    if self._ticker is not None:
      self._ticker.join(timeout=2 * self._tick_s)
      self._ticker = None

  def elapsed(self) -> float:
    return time.monotonic() - self._start

  # -- the ticker ------------------------------------------------------------------------------

  def _set_live(self, obj) -> None:
    with self._lock:
      self._live = obj
    if obj is not None and self._ticker is None:
      self._stop.clear()
      self._ticker = threading.Thread(target=self._tick, name="progress-ticker", daemon=True)
      self._ticker.start()

  def _tick(self) -> None:
    while not self._stop.wait(self._tick_s):
      with self._lock:
        live = self._live
      if live is not None:
        try:
          live.refresh()
        except Exception:  # a bar closed between the read and the refresh
          pass


class _LiveBar(tqdm):
  """The terminal training bar; closing it hands the ticker back to no one."""

  def __init__(self, display: Display, **kwargs):
    self._display = display
    super().__init__(**kwargs)

  def close(self):
    display = getattr(self, "_display", None)
    if display is not None:
      display._set_live(None)
      self._display = None
    super().close()

