"""JAX's persistent compilation cache, on by default for the command-line tools.

A run compiles a handful of programs (data generation, the training segment, the checks, the
evaluators); on two CPU cores that is several seconds per run. XLA executables are cached on disk
under ``$SIMPLICITY_BIAS_CACHE_DIR`` (default ``$XDG_CACHE_HOME/simplicity_bias/jax`` or
``~/.cache/simplicity_bias/jax``), so a second run of the same shapes loads them instead.
``SIMPLICITY_BIAS_COMPILATION_CACHE=0`` (or ``--nocompilation_cache`` on the launch scripts)
turns it off. Cached executables are keyed by the program, the JAX version and the device, so a
stale entry is never used for another program.
"""

import os

ENV_SWITCH = "SIMPLICITY_BIAS_COMPILATION_CACHE"
ENV_DIR = "SIMPLICITY_BIAS_CACHE_DIR"


def default_dir() -> str:
  root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
  return os.environ.get(ENV_DIR) or os.path.join(root, "simplicity_bias", "jax")


def enable(directory: str = "", min_compile_time_s: float = 0.2) -> str:
  """Turns the cache on (unless switched off by the environment); returns its directory or ''."""
  if os.environ.get(ENV_SWITCH, "1").lower() in ("0", "false", "no", "off"):
    return ""
  import jax
  directory = directory or default_dir()
  try:
    os.makedirs(directory, exist_ok=True)
  except OSError:
    return ""  # an unwritable cache only costs speed
  jax.config.update("jax_compilation_cache_dir", directory)
  jax.config.update("jax_persistent_cache_min_compile_time_secs", min_compile_time_s)
  jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
  return directory
