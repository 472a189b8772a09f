"""launch/reproduce.py --launcher=ray: the same runs and records as the serial launcher, a killed
or preempted task retried from its checkpoint, the driver's Ctrl-C, and the command-line checks
(Ray missing, --ray_* flags without it, --preset with either launcher)."""

import glob
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import REPO, load_config, run_launch
from simplicity_bias import interrupts
from simplicity_bias.ray_launcher import MISSING

try:
  import ray  # noqa: F401
  HAVE_RAY = True
except ImportError:
  HAVE_RAY = False

needs_ray = pytest.mark.skipif(not HAVE_RAY, reason="Ray is not installed: pip install -e "
                               "\".[ray]\" (.ci/run installs it)")

SMOKE = ("--preset=smoke", "--only=lms5,margin_sweep")


def _json(path):
  with open(path, encoding="utf-8") as f:
    return json.load(f)


def test_ray_missing_is_one_sentence_naming_the_extra(tmp_path):
  """`import ray` fails in the child (``sys.modules["ray"] = None``): exit 2 with MISSING, and
  nothing is run or written."""
  workdir = tmp_path / "w"
  code = ("import runpy, sys; sys.modules['ray'] = None; "
          f"sys.argv = ['reproduce.py', '--launcher=ray', '--workdir={workdir}', *{SMOKE!r}]; "
          "runpy.run_path('launch/reproduce.py', run_name='__main__')")
  proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                        timeout=300, env={**os.environ, "JAX_PLATFORMS": "cpu"})
  assert proc.returncode == 2, proc.stderr[-2000:]
  assert proc.stderr.strip().splitlines() == [MISSING]
  assert "pip install -e \".[ray]\"" in MISSING
  assert not workdir.exists()


def test_ray_flags_need_the_ray_launcher(tmp_path):
  proc = run_launch("reproduce.py", "--ray_address=auto", "--ray_max_retries=1", *SMOKE,
                    f"--workdir={tmp_path}", timeout=300)
  assert proc.returncode == 2
  assert proc.stderr.strip().splitlines() == [
      "error: --ray_address, --ray_max_retries apply only with --launcher=ray."]
  proc = run_launch("reproduce.py", "--launcher=ray", "--ray_address=auto", "--ray_num_cpus=2",
                    *SMOKE, f"--workdir={tmp_path}", timeout=300)
  assert proc.returncode == 2 and "drop one of them" in proc.stderr
  assert not os.listdir(tmp_path)


@pytest.mark.parametrize("launcher", ["serial", pytest.param("ray", marks=needs_ray)])
def test_preset_is_checked_the_same_by_every_launcher(launcher, tmp_path):
  """--preset selects every config's preset for either launcher: an unknown one is refused
  before anything runs (and before Ray starts)."""
  proc = run_launch("reproduce.py", f"--launcher={launcher}", "--preset=nope", "--only=lms5",
                    f"--workdir={tmp_path / 'w'}", timeout=300)
  assert proc.returncode == 2, proc.stderr[-2000:]
  assert proc.stderr.strip().splitlines()[-1] == (
      "error: unknown preset 'nope' for configs/lms5.py; valid: cpu, smoke.")
  assert not (tmp_path / "w").exists()


def test_install_routes_signals_back_after_a_library_took_them():
  """ray.init replaces the SIGTERM handler; a second install() takes it back and uninstall()
  still restores the handler from before the first."""
  interrupts.uninstall()  # from a launcher that an earlier test ran in this process
  original = signal.getsignal(signal.SIGTERM)
  try:
    interrupts.install()
    ours = signal.getsignal(signal.SIGTERM)
    assert ours is not original
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # what a library does
    interrupts.install()
    assert signal.getsignal(signal.SIGTERM) is ours
  finally:
    interrupts.uninstall()
  assert signal.getsignal(signal.SIGTERM) is original


@needs_ray
@pytest.mark.slow
def test_ray_launcher_gives_the_serial_launchers_runs_and_records(tmp_path):
  """Two `:smoke` configs on a local 2-CPU Ray instance: per-seed results and claims equal the
  serial launcher's; the records say preset smoke and the preset's seeds, as the serial ones."""
  serial, fanned = tmp_path / "serial", tmp_path / "ray"
  proc = run_launch("reproduce.py", *SMOKE, f"--workdir={serial}",
                    f"--records={tmp_path / 'serial_records'}")
  assert proc.returncode == 0, proc.stderr[-3000:]
  proc = run_launch("reproduce.py", "--launcher=ray", "--ray_num_cpus=2", *SMOKE,
                    f"--workdir={fanned}", f"--records={tmp_path / 'ray_records'}")
  assert proc.returncode == 0, proc.stderr[-3000:]
  out = proc.stdout
  assert "== 2 configs as Ray tasks on a local Ray instance (2 CPUs), 1 CPU each ==" in out
  assert "imported simplicity_bias from" not in out  # the workers ran this checkout's code
  for name in ("lms5", "margin_sweep"):
    assert f"== {name} (smoke) == ok in " in out
    a, b = _json(serial / name / "results.json"), _json(fanned / name / "results.json")
    assert a["per_seed"] == b["per_seed"] and a["rows"] and len(a["rows"]) == len(b["rows"])
    for row_a, row_b in zip(a["rows"], b["rows"]):
      assert row_a["per_seed"] == row_b["per_seed"]
    records = [_json(serial / name / "reproduction.json"),
               _json(fanned / name / "reproduction.json"),
               _json(tmp_path / "ray_records" / f"{name}.json")]
    assert records[0]["claims"] and all(r["claims"] == records[0]["claims"] for r in records)
    seeds = load_config(name, "smoke").num_seeds
    for r in records:
      assert (r["run"]["preset"], r["run"]["num_seeds"], r["run"]["status"]) == (
          "smoke", seeds, "ok")
      assert "resumed_after_s" not in r["run"]
  assert _json(serial / "claims.json")["claims"] == _json(fanned / "claims.json")["claims"]
  assert not (fanned / ".ray_attempts").exists()


def _kill_first_attempt(workdir, name, signum, killed, checkpoints=2, timeout=300):
  """Sends ``signum`` to the process of the task's first attempt once its run holds
  ``checkpoints`` checkpoints (the attempt file names the process)."""
  deadline = time.monotonic() + timeout
  while time.monotonic() < deadline:
    steps = glob.glob(os.path.join(workdir, name, "checkpoints", "*", "[0-9]*"))
    markers = glob.glob(os.path.join(workdir, ".ray_attempts", "*", name))
    if len(steps) >= checkpoints and markers:
      with open(markers[0], encoding="utf-8") as f:
        pid = int(f.readline().split()[0])
      if not os.path.exists(os.path.join(workdir, name, "results.json")):
        os.kill(pid, signum)
        killed.append(pid)
      return
    time.sleep(0.02)


@needs_ray
@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM],
                         ids=["worker_killed", "worker_preempted"])
def test_a_killed_task_is_retried_and_resumes_from_its_checkpoint(signum, smoke_run, tmp_path,
                                                                  capsys):
  """The first attempt's worker gets SIGKILL (it dies: Ray retries the task) or SIGTERM (the
  run checkpoints and stops: Ray retries the exception); the retry resumes the run from its
  checkpoints and reaches the per-seed results of an uninterrupted run."""
  from simplicity_bias import ray_launcher
  _, _, straight = smoke_run("margin_sweep")
  config = load_config("margin_sweep", "smoke")
  config.checkpoint_every_s = 0  # a checkpoint at every check
  workdir = str(tmp_path / "w")
  handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
  ray_launcher.init(num_cpus=2)
  killed = []
  watcher = threading.Thread(target=_kill_first_attempt,
                             args=(workdir, "margin_sweep", signum, killed), daemon=True)
  watcher.start()
  try:
    launch = ray_launcher.run({"margin_sweep": config}, workdir, "smoke", max_retries=1)
  finally:
    ray_launcher.shutdown()
    interrupts.uninstall()
    for s, handler in handlers.items():  # ray.init and the launcher took them
      signal.signal(s, handler)
  watcher.join(timeout=10)
  assert killed, "the run finished before it could be killed; nothing was tested"
  assert launch.statuses == {"margin_sweep": "ok"} and launch.interrupted is None
  out = capsys.readouterr().out
  assert "== margin_sweep (smoke) == ok in " in out and "(attempt 2, resumed)" in out, out
  run_dir = os.path.join(workdir, "margin_sweep")
  record = _json(os.path.join(run_dir, "reproduction.json"))
  assert record["run"]["status"] == "ok" and record["run"]["resumed_after_s"] > 0
  with open(os.path.join(run_dir, "log.txt"), encoding="utf-8") as f:
    assert "resumed run of" in f.read()
  resumed = _json(os.path.join(run_dir, "results.json"))
  assert resumed["per_seed"] == json.loads(json.dumps(straight["per_seed"]))
  with open(os.path.join(run_dir, "metrics.jsonl"), encoding="utf-8") as f:
    steps = [(r.get("cell", ""), r["step"]) for r in map(json.loads, f)]
  assert len(steps) == len(set(steps))  # each check once: the retry continued, not restarted
  assert not os.path.exists(os.path.join(workdir, ".ray_attempts"))


@needs_ray
@pytest.mark.slow
def test_a_task_that_fails_every_attempt_is_recorded_as_failed(tmp_path, capsys):
  """No retries left: the driver writes the failed record, and the table lists the config under
  Not run with the reason."""
  from simplicity_bias import ray_launcher
  from simplicity_bias.report.reproduction import collect, table
  config = load_config("margin_sweep", "smoke")
  config.checkpoint_every_s = 0
  workdir, records = str(tmp_path / "w"), str(tmp_path / "records")
  handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
  ray_launcher.init(num_cpus=1)
  killed = []
  watcher = threading.Thread(target=_kill_first_attempt,
                             args=(workdir, "margin_sweep", signal.SIGKILL, killed), daemon=True)
  watcher.start()
  try:
    launch = ray_launcher.run({"margin_sweep": config}, workdir, "smoke", records,
                              max_retries=0)
  finally:
    ray_launcher.shutdown()
    interrupts.uninstall()
    for s, handler in handlers.items():
      signal.signal(s, handler)
  watcher.join(timeout=10)
  assert killed, "the run finished before it could be killed; nothing was tested"
  status = launch.statuses["margin_sweep"]
  assert status.startswith("failed: ") and status.endswith("(attempts on Ray: 1)"), status
  assert f"== margin_sweep (smoke) == {status}" in capsys.readouterr().out
  for path in (os.path.join(workdir, "margin_sweep", "reproduction.json"),
               os.path.join(records, "margin_sweep.json")):
    record = _json(path)
    assert record["claims"] == [] and record["run"]["status"] == status
    assert record["run"]["machine"].startswith("Ray worker on ")
  claims, runs = collect(workdir, ["lms5", "margin_sweep"])
  assert f"- `configs/margin_sweep.py`: {status}" in table(claims, runs, {})


@needs_ray
@pytest.mark.slow
def test_ctrl_c_stops_the_ray_tasks_and_says_how_to_continue(tmp_path):
  env = {**os.environ, "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3"}
  proc = subprocess.Popen([sys.executable, os.path.join(REPO, "launch", "reproduce.py"),
                           "--launcher=ray", "--ray_num_cpus=1", *SMOKE,
                           f"--workdir={tmp_path}"], cwd=REPO, env=env, text=True,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
  lines = []
  reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
  reader.start()
  # One CPU: the configs run one at a time. Stop the first once it has started.
  deadline = time.monotonic() + 300
  while not glob.glob(str(tmp_path / "*" / "config.json")):
    assert proc.poll() is None and time.monotonic() < deadline, "".join(lines)
    time.sleep(0.05)
  proc.send_signal(signal.SIGINT)
  proc.wait(timeout=300)
  reader.join(timeout=10)
  err = "".join(lines)
  assert proc.returncode == 130, err
  assert "Traceback" not in err, err
  last = err.strip().splitlines()[-1]
  assert last.startswith("Ctrl-C: interrupted while "), last
  assert last.endswith(" --resume") and "--launcher=ray" in last, last
  unfinished = last.split("--only=")[1].split()[0].split(",")
  assert unfinished and set(unfinished) <= {"lms5", "margin_sweep"}, last
  for name in unfinished:
    assert not (tmp_path / name / "reproduction.json").exists()  # no record of a cut run
  # The printed command finishes the reproduction.
  command = last.split("continue with: ", 1)[1].split()[1:]
  done = subprocess.run([sys.executable, *command], cwd=REPO, capture_output=True, text=True,
                        timeout=600, env=env)
  assert done.returncode == 0, done.stderr[-3000:]
  for name in ("lms5", "margin_sweep"):
    assert _json(tmp_path / name / "reproduction.json")["run"]["status"] == "ok"


@pytest.mark.parametrize("cluster_gpus,asked,image_gpus,others_on_cpu", [
    (False, None, 0, False),  # a CPU cluster: nothing reserves or hides a GPU
    (True, None, 1, True),    # GPUs: one per image config; the others stay off them
    (False, 1, 1, True),      # GPU nodes that start on demand: asked for explicitly
    (True, 0, 0, True),       # GPUs present but not wanted: every task runs on the CPU
])
def test_task_resources(cluster_gpus, asked, image_gpus, others_on_cpu):
  from simplicity_bias.ray_launcher import code_root, is_image_config, task_options
  image, synthetic = load_config("cifar_only", "smoke"), load_config("lms5", "smoke")
  assert is_image_config(image) and not is_image_config(synthetic)
  a = task_options("cifar_only", image, cluster_gpus, 2, asked, 3)
  b = task_options("lms5", synthetic, cluster_gpus, 2, asked, 3)
  assert (a["num_gpus"], b["num_gpus"]) == (image_gpus, 0)
  assert (a["num_cpus"], a["max_retries"], a["retry_exceptions"]) == (2, 3, True)
  env_a, env_b = a["runtime_env"]["env_vars"], b["runtime_env"]["env_vars"]
  assert env_b.get("JAX_PLATFORMS") == ("cpu" if others_on_cpu else None)
  assert env_a.get("JAX_PLATFORMS") == ("cpu" if others_on_cpu and not image_gpus else None)
  assert env_a["PYTHONPATH"].split(os.pathsep)[0] == code_root() == REPO
