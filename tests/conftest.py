"""Shared test helpers: the repository root and a loader for config files by path."""

import importlib.util
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_config(name: str, preset: str = ""):
  """``configs/<name>.py`` -> get_config(preset), as launch/train.py would load it."""
  path = os.path.join(REPO, "configs", f"{name}.py")
  spec = importlib.util.spec_from_file_location(f"configs_{name}", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(preset)


def run_launch(script: str, *args, timeout: int = 600, env=None):
  """Runs ``launch/<script>`` in a subprocess; returns the CompletedProcess (text output)."""
  env = dict(os.environ, JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
  return subprocess.run([sys.executable, os.path.join(REPO, "launch", script), *args],
                        capture_output=True, text=True, timeout=timeout, cwd=REPO, env=env)


@pytest.fixture
def config_loader():
  return load_config
