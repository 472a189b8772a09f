"""Data-parallel training over 8 fake CPU devices gives the numbers of 1 device."""

import json
import os
import subprocess
import sys

from conftest import REPO


def test_eight_devices_match_one_device():
  env = dict(os.environ, JAX_PLATFORMS="cpu")
  proc = subprocess.run([sys.executable, os.path.join(REPO, "tests", "sharded_training.py")],
                        capture_output=True, text=True, timeout=600, env=env, cwd=REPO)
  assert proc.returncode == 0, proc.stderr[-3000:]
  out = json.loads(proc.stdout.strip().splitlines()[-1])
  assert out["devices"] == 8
  # Reductions are ordered differently across devices: equal to float tolerance, not bits.
  assert out["max_abs_diff"] < 1e-4 * max(1.0, out["param_scale"]), out
  for a, b in zip(out["train_loss_1"], out["train_loss_8"]):
    assert abs(a - b) < 1e-4, out
