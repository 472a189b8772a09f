"""Ctrl-C and SIGTERM sent to a real `launch/train.py` process in each phase of a run: one line,
no traceback, exit 130 / 143, a checkpoint once training started, and a resume that finishes.

Slow (a subprocess per phase); the in-process checks are in test_console.py."""

import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow

# lms5:smoke with a fixed, longer budget so that training has several segments to stop between.
_ARGS = ("--config=configs/lms5.py:smoke", "--config.num_seeds=2",
         "--config.train.stop_rule=none", "--config.train.max_epochs=60",
         "--config.progress=True", "--compilation_cache=False")


def _start(workdir, *extra):
  env = {**os.environ, "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3"}
  proc = subprocess.Popen([sys.executable, os.path.join(REPO, "launch", "train.py"), *_ARGS,
                           f"--workdir={workdir}", *extra], cwd=REPO, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
  lines = []

  def read():
    for line in proc.stderr:
      lines.append(line)
  reader = threading.Thread(target=read, daemon=True)
  reader.start()
  return proc, lines, reader


def _signal_when(proc, lines, text, signum, delay=0.0, timeout=300):
  deadline = time.monotonic() + timeout
  while not any(text in l for l in lines):
    if proc.poll() is not None or time.monotonic() > deadline:
      raise AssertionError(f"never saw {text!r}:\n{''.join(lines)}")
    time.sleep(0.05)
  time.sleep(delay)
  proc.send_signal(signum)


@pytest.mark.parametrize("phase, signum, delay, resumable", [
    ("initialising 2 members", signal.SIGINT, 0.0, False),   # compiling the initialisation
    ("training from update 0", signal.SIGINT, 0.0, True),    # between training segments
    ("training from update 0", signal.SIGTERM, 0.0, True),   # a scheduler's preemption
    ("evaluating (", signal.SIGINT, 0.0, True),
    ("drawing ", signal.SIGTERM, 0.0, True),
])
def test_a_signal_in_each_phase_stops_cleanly(tmp_path, phase, signum, delay, resumable):
  workdir = tmp_path / "run"
  proc, lines, reader = _start(workdir)
  _signal_when(proc, lines, phase, signum, delay)
  proc.wait(timeout=300)
  reader.join(timeout=10)
  err = "".join(lines)
  assert proc.returncode == (130 if signum == signal.SIGINT else 143), err
  assert "Traceback" not in err and "Fatal Python error" not in err, err
  last = err.strip().splitlines()[-1]
  name = "Ctrl-C" if signum == signal.SIGINT else "SIGTERM"
  assert last.startswith(f"{name}: interrupted"), last
  if not resumable:
    assert "nothing to resume" in last and not workdir.exists()
    return
  if "training" in phase:
    # The request is honoured after the running segment: the run stops mid-training, however
    # fast the machine is (the signal arrives while the training program compiles).
    step, total = map(int, re.search(r"at update (\d+) of (\d+)", last).groups())
    assert 0 < step < total, last
  assert "continue with: python " in last and last.endswith("--config.resume=True"), last
  assert any((workdir / "checkpoints" / "run").iterdir())
  assert not (workdir / "results.json").exists()
  # The printed command continues the run to the end.
  command = last.split("continue with: ", 1)[1].split()[1:]
  done = subprocess.run([sys.executable, *command], cwd=REPO, capture_output=True, text=True,
                        timeout=600, env={**os.environ, "JAX_PLATFORMS": "cpu"})
  assert done.returncode == 0, done.stderr[-3000:]
  assert (workdir / "results.json").exists()
  if "training" in phase:
    assert "resuming from the checkpoint at update" in done.stderr


def test_reproduce_stops_cleanly_and_says_how_to_continue(tmp_path):
  env = {**os.environ, "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3"}
  proc = subprocess.Popen([sys.executable, os.path.join(REPO, "launch", "reproduce.py"),
                           "--preset=smoke", "--only=lms5,margin_sweep", f"--workdir={tmp_path}"],
                          cwd=REPO, env=env, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
  lines = []
  reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
  reader.start()
  # lms5's smoke preset shows no progress: stop it once it has started (its work directory).
  deadline = time.monotonic() + 300
  while not (tmp_path / "lms5" / "config.json").exists():
    assert proc.poll() is None and time.monotonic() < deadline, "".join(lines)
    time.sleep(0.05)
  proc.send_signal(signal.SIGINT)
  proc.wait(timeout=300)
  reader.join(timeout=10)
  err = "".join(lines)
  assert proc.returncode == 130, err
  assert "Traceback" not in err, err
  last = err.strip().splitlines()[-1]
  assert last.startswith("Ctrl-C: interrupted in lms5"), last
  assert last.endswith("--only=lms5,margin_sweep --resume"), last
  assert not (tmp_path / "lms5" / "reproduction.json").exists()   # no record of a cut run
