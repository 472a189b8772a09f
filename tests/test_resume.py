"""Resume after kill -9: a synthetic sweep and an image run continue from their last checkpoint
and reach the per-seed results of the uninterrupted run; the killed run's directory never holds
results that disagree with its config."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO, run_launch

pytestmark = pytest.mark.slow


def _checkpoints(workdir):
  root = os.path.join(workdir, "checkpoints")
  if not os.path.isdir(root):
    return 0
  return sum(len([s for s in os.listdir(os.path.join(root, cell)) if s.isdigit()])
             for cell in os.listdir(root))


def _kill_after_checkpoints(args, workdir, count=2, timeout=600):
  """Starts launch/train.py, kills it with SIGKILL once ``count`` checkpoints exist."""
  env = dict(os.environ, JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3")
  proc = subprocess.Popen([sys.executable, os.path.join(REPO, "launch", "train.py"), *args,
                           f"--workdir={workdir}", "--config.checkpoint_every_s=0"],
                          cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
  start = time.time()
  while _checkpoints(workdir) < count:
    assert proc.poll() is None, "the run ended before it could be killed"
    assert time.time() - start < timeout
    time.sleep(0.02)
  os.kill(proc.pid, signal.SIGKILL)
  proc.wait()


def _assert_consistent_after_kill(workdir, config):
  assert not os.path.exists(os.path.join(workdir, "results.json")), (
      "the run finished before it was killed; nothing was tested")
  with open(os.path.join(workdir, "config.json")) as f:
    saved = json.load(f)
  assert saved["num_seeds"] == config.num_seeds
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    lines = [json.loads(l) for l in f if l.strip()]
  assert lines and all(len(r["train_acc"]) == len(lines[0]["train_acc"]) for r in lines)


def _resume_and_compare(args, workdir, straight):
  proc = run_launch("train.py", *args, f"--workdir={workdir}", "--config.resume=True")
  assert proc.returncode == 0, proc.stderr[-3000:]
  with open(os.path.join(workdir, "results.json")) as f:
    resumed = json.load(f)
  assert resumed["per_seed"] == json.loads(json.dumps(straight["per_seed"]))
  # Each check of the uninterrupted run appears exactly once in metrics.jsonl.
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    steps = [(r.get("cell", ""), r["step"]) for r in map(json.loads, f)]
  assert len(steps) == len(set(steps))


@pytest.mark.slow
def test_killed_synthetic_sweep_resumes_to_the_same_numbers(smoke_run, tmp_path):
  config, _, straight = smoke_run("margin_sweep")
  args = ["--config=configs/margin_sweep.py:smoke"]
  workdir = tmp_path / "run"
  _kill_after_checkpoints(args, workdir)
  _assert_consistent_after_kill(workdir, config)
  # The same command without resume refuses the directory instead of mixing two runs.
  proc = run_launch("train.py", *args, f"--workdir={workdir}")
  assert proc.returncode == 2 and "--config.resume=True" in proc.stderr
  changed = run_launch("train.py", *args, f"--workdir={workdir}", "--config.resume=True",
                       "--config.optim.learning_rate=0.05")
  assert changed.returncode == 2 and "optim" in changed.stderr
  _resume_and_compare(args, workdir, straight)


@pytest.mark.slow
def test_killed_image_run_resumes_to_the_same_numbers(smoke_run, tmp_path):
  config, _, straight = smoke_run("mnist_cifar_ensemble")
  args = ["--config=configs/mnist_cifar_ensemble.py:smoke"]
  workdir = tmp_path / "run"
  _kill_after_checkpoints(args, workdir)
  _assert_consistent_after_kill(workdir, config)
  _resume_and_compare(args, workdir, straight)
