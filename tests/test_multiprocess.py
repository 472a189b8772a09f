"""Two processes on one machine (jax.distributed over CPU collectives) give the per-seed results
of one process, and only process 0 writes files: a synthetic sweep and a data-parallel image
run."""

import json
import os
import socket
import subprocess
import sys

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow


def _free_port():
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


def _two_processes(args, workdirs):
  port = _free_port()
  procs = []
  for pid, workdir in enumerate(workdirs):
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3",
           "SB_COORDINATOR": f"localhost:{port}", "SB_NUM_PROCESSES": "2",
           "SB_PROCESS_ID": str(pid)}
    procs.append(subprocess.Popen(
        [sys.executable, os.path.join(REPO, "launch", "train.py"), *args,
         f"--workdir={workdir}", "--config.distributed=True",
         # Separate work directories show who writes; checkpoints need a shared one.
         "--config.checkpoint_every_s=-1"], cwd=REPO, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
  outs = [p.communicate(timeout=900) for p in procs]
  for p, (_, err) in zip(procs, outs):
    assert p.returncode == 0, err[-3000:]


def _per_seed(workdir):
  with open(os.path.join(workdir, "results.json")) as f:
    return json.load(f)["per_seed"]


@pytest.mark.parametrize("name", [
    "lms5",
    # Known bug, not fixed yet: the 2-process data-parallel image run trains and writes from
    # process 0 only, but its per-seed numbers differ from 1 process by up to .034 (the
    # 8-device single-process run of test_sharding matches). strict: it fails once fixed.
    pytest.param("mnist_cifar", marks=pytest.mark.xfail(
        strict=True, reason="2-process image run differs from 1 process (open bug)"))])
def test_two_processes_match_one_and_only_process_0_writes(name, smoke_run, image_data_dir,
                                                           tmp_path):
  _, _, single = smoke_run(name)
  args = [f"--config=configs/{name}.py:smoke"]
  if name == "mnist_cifar":
    # Data parallel over both processes' devices (one each): every batch is split in two.
    args += [f"--config.data.data_dir={image_data_dir}", "--config.num_devices=0"]
  first, second = tmp_path / "p0", tmp_path / "p1"
  _two_processes(args, [first, second])
  got = _per_seed(first)
  for metric, values in json.loads(json.dumps(single["per_seed"])).items():
    assert got[metric] == pytest.approx(values, abs=1e-5), metric
  assert not second.exists() or not os.listdir(second)
