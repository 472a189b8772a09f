"""Where a result was measured: a one-line description of the machine, its load, and the git
commit of the code (for tables, records and benchmarks)."""

import os
import platform
import subprocess


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


def git_commit() -> str:
  """The commit of this checkout (with "+changes" when files differ from it), or "unknown"."""
  root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  try:
    head = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True,
                          text=True, timeout=10, check=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, timeout=10, check=True).stdout.strip()
  except (OSError, subprocess.SubprocessError):
    return "unknown"
  return head + ("+changes" if dirty else "")
