"""Shared test helpers: config loading, launch scripts in a subprocess, the session's mock image
data directory, and one cached `:smoke` run per claim config for the whole session."""

import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from simplicity_bias.configs import load_config as _load_config
from simplicity_bias.data import mock

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# Claim configs whose `:smoke` run takes 10 s or more on a 2-core CPU (all but lms5): every test that uses
# one is marked slow (the README's test command skips it; .ci/run runs it). `smoke_run` refuses
# them in a test that is not marked slow, so the fast suite cannot grow one by accident.
SLOW_SMOKE = frozenset({
    "sb_models", "sb_training_choices", "ensembles_synthetic", "nonrandom_init", "mnist_cifar",
    "cifar_only", "mnist_cifar_ensemble", "uap_mnist_cifar", "adv_training_mnist_cifar",
    "adv_training_advms", "diffroar_fashion_mnist", "diffroar_mnist", "diffroar_cifar10",
    "ms57", "sb_hurts_generalization", "theorem1_lsn", "margin_sweep", "attacks_synthetic",
    "block_mnist", "block_mnist_top", "block_mnist_theory", "diffroar_block_mnist"})
_IN_SLOW_TEST = [False]


def smoke_params(names):
  """``pytest.mark.parametrize`` values for claim configs, the slow ones marked slow."""
  return [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_SMOKE else n for n in names]


@pytest.fixture(scope="session", autouse=True)
def mock_data_dir(tmp_path_factory):
  """Where `data_dir='mock'` (the image `:smoke` presets' data) is generated for this session,
  in-process and in the launch scripts' subprocesses alike: never the user's cache."""
  path = tmp_path_factory.mktemp("mock_data")
  saved = os.environ.get(mock.ENV_DIR)
  os.environ[mock.ENV_DIR] = str(path)
  yield path
  if saved is None:
    del os.environ[mock.ENV_DIR]
  else:
    os.environ[mock.ENV_DIR] = saved


@pytest.fixture(autouse=True)
def _note_slow_marker(request):
  _IN_SLOW_TEST[0] = request.node.get_closest_marker("slow") is not None
  yield


def load_config(name: str, preset: str = ""):
  """``configs/<name>.py`` -> get_config(preset), unlocked so tests can set fields."""
  config = _load_config(name, preset)
  config.unlock()
  return config


def set_fields(config, **overrides):
  """``set_fields(c, **{"model.width": 30})``: dotted paths, for tests."""
  for path, value in overrides.items():
    node = config
    *parents, leaf = path.split(".")
    for p in parents:
      node = node[p]
    node[leaf] = value
  return config


_LAUNCH_TRAIN = []


def launch_train():
  """``launch/train.py`` loaded as a module, once per session (absl flags can be defined once)."""
  if not _LAUNCH_TRAIN:
    import importlib.util
    spec = importlib.util.spec_from_file_location("launch_train", os.path.join(REPO, "launch",
                                                                               "train.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _LAUNCH_TRAIN.append(module)
  return _LAUNCH_TRAIN[0]


def run_launch(script: str, *args, timeout: int = 600, env=None):
  """Runs ``launch/<script>`` in a subprocess; returns the CompletedProcess (text output)."""
  env = {**os.environ, "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
  return subprocess.run([sys.executable, os.path.join(REPO, "launch", script), *args],
                        capture_output=True, text=True, timeout=timeout, cwd=REPO, env=env)


def smoke_config(name: str, **overrides):
  """The `:smoke` config of a claim (image data: the generated mock), with dotted overrides."""
  return set_fields(load_config(name, "smoke"), **overrides)


class SmokeRuns:
  """Each claim config's `:smoke` run, made once per session and shared by every test."""

  def __init__(self, tmp_path_factory):
    self._tmp, self._runs = tmp_path_factory, {}

  def __call__(self, name: str):
    if name not in self._runs:
      if name in SLOW_SMOKE and not _IN_SLOW_TEST[0]:
        raise RuntimeError(f"the :smoke run of {name} is slow (conftest.SLOW_SMOKE): mark the "
                           "test that needs it with @pytest.mark.slow")
      from simplicity_bias import pipeline
      workdir = self._tmp.mktemp(name)
      config = smoke_config(name)
      self._runs[name] = (config, workdir, pipeline.run(config, str(workdir), progress=False))
    return self._runs[name]


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
  """``smoke_run(name) -> (config, workdir, results)``."""
  return SmokeRuns(tmp_path_factory)


@pytest.fixture
def config_loader():
  return load_config


def find_row(results, label: str):
  """The row of ``results`` labelled ``label`` (KeyError naming the rows there are)."""
  for row in results["rows"]:
    if row["label"] == label:
      return row
  raise KeyError(f"no row {label!r}; rows: {[r['label'] for r in results['rows']]}")


def ledger_claims(name: str, results, preset: str = "smoke"):
  """The claims of config ``name``'s ledger judged on ``results`` (those whose rows it has)."""
  from simplicity_bias.report import ledger
  return ledger.judge(ledger.load(name), results, preset)


def expected_verdict(values, band, learned=True):
  """The verdict rule recomputed from the per-seed values: the Student-t 95% interval (clipped
  to [0, 1]) inside the band passes, wholly outside fails; a model that did not learn fails."""
  v = np.asarray(values, dtype=np.float64)
  if not learned:
    return "fail"
  if v.size < 4:
    return "inconclusive"
  half = stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size)
  low, high = max(v.mean() - half, 0.0), min(v.mean() + half, 1.0)
  if band[0] <= low and high <= band[1]:
    return "pass"
  return "fail" if high < band[0] or low > band[1] else "inconclusive"
