"""Data-parallel training over 8 fake CPU devices gives the numbers of 1 device."""

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO


@pytest.mark.slow
def test_eight_devices_match_one_device():
  env = dict(os.environ, JAX_PLATFORMS="cpu")
  proc = subprocess.run([sys.executable, os.path.join(REPO, "tests", "sharded_training.py")],
                        capture_output=True, text=True, timeout=600, env=env, cwd=REPO)
  assert proc.returncode == 0, proc.stderr[-3000:]
  out = json.loads(proc.stdout.strip().splitlines()[-1])
  assert out["devices"] == 8 and out["checks"] == [2, 2]
  # Reductions are ordered differently across devices: equal to float tolerance, not bits.
  tolerance = 1e-4 * max(1.0, out["param_scale"])
  assert out["max_abs_diff"] < tolerance, out
  # ... and training moved the parameters far more than that, so a wrong split would show.
  assert out["max_update"] > 10 * tolerance, out
  for a, b in zip(out["train_loss_1"], out["train_loss_8"]):
    assert abs(a - b) < 1e-4, out


@pytest.mark.slow
def test_image_experiment_on_eight_devices_matches_one_device():
  """A MNIST-CIFAR cell through pipeline.run_cell (sharded training, then evaluation)."""
  env = dict(os.environ, JAX_PLATFORMS="cpu")  # with the session's mock data directory
  proc = subprocess.run([sys.executable, os.path.join(REPO, "tests", "sharded_experiment.py")],
                        capture_output=True, text=True, timeout=900, env=env, cwd=REPO)
  assert proc.returncode == 0, proc.stderr[-3000:]
  out = json.loads(proc.stdout.strip().splitlines()[-1])
  assert out["devices"] == [1, 8] and out["num_train"] == [96, 96]
  assert out["updates"][0] == out["updates"][1] == [2, 2]  # one epoch of two batches of 48
  assert set(out["max_score_diff"]) == {"test", "s_rand", "sc_rand"}
  # Scores on the standard and both randomized test sets agree to float tolerance (AUCs are
  # not compared: after two updates the scores are nearly tied, and ties flip with rounding).
  for name, diff in out["max_score_diff"].items():
    assert diff < 1e-4 * max(1.0, out["score_scale"]), out
