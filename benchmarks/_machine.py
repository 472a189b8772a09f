"""What the benchmarks record about the machine they ran on (shared by the benchmark scripts)."""

import os
import platform


def load1() -> float:
  """The 1-minute load average (NaN where the OS has none): other work competing for the cores."""
  try:
    return os.getloadavg()[0]
  except OSError:
    return float("nan")


def cpu_model() -> str:
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.startswith("model name"):
          return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or "unknown"
