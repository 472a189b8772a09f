"""A one-line description of the machine a result was measured on (for tables and benchmarks)."""

import os
import platform


def cpu_model() -> str:
  try:
    with open("/proc/cpuinfo", encoding="utf-8") as f:
      for line in f:
        if line.startswith("model name"):
          return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or platform.machine() or "unknown CPU"


def load1() -> float:
  """The 1-minute load average (NaN where the OS has none): other work competing for the cores."""
  try:
    return os.getloadavg()[0]
  except OSError:
    return float("nan")


def describe() -> str:
  """CPU model and core count, plus the accelerators and JAX version when JAX runs on them."""
  import jax
  device = jax.devices()[0]
  where = f"{cpu_model()}, {os.cpu_count()} CPU cores"
  if device.platform != "cpu":
    where += f", {jax.device_count()}x {device.device_kind}"
  return f"{where}, JAX {jax.__version__} on {device.platform}"
