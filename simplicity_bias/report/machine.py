"""A one-line description of the machine a result was measured on (for tables and benchmarks)."""

import os
import platform


def _cpuinfo(field: str):
  """The first ``field`` of /proc/cpuinfo, or None (no such file or field)."""
  try:
    with open("/proc/cpuinfo", encoding="utf-8") as f:
      for line in f:
        if line.startswith(field):
          return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return None


def cpu_model() -> str:
  return _cpuinfo("model name") or platform.processor() or platform.machine() or "unknown CPU"


def cpu_vendor() -> str:
  """``vendor_id`` (GenuineIntel, AuthenticAMD, ...), else the architecture: XLA:CPU's kernels,
  and so float rounding, differ between vendors' CPUs."""
  return _cpuinfo("vendor_id") or platform.machine() or "unknown"


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
