"""What every launcher shares: ``--help`` exits 0 and states where image data is read from,
reproduce.py's exit statuses, and the costs of presets read from the committed records."""

import json
import os
import re

import pytest

from conftest import REPO, run_launch
from simplicity_bias.report import costs

LAUNCHERS = ("train.py", "reproduce.py", "export_dataset.py", "build_datasets.py")


@pytest.mark.parametrize("script", LAUNCHERS)
def test_help_exits_0_and_states_the_data_dir_order(script):
  proc = run_launch(script, "--help", timeout=120)
  assert proc.returncode == 0, proc.stderr[-2000:]
  text = " ".join(proc.stdout.split())  # absl wraps the flag help
  order = "--data_dir, then $TFDS_DATA_DIR, then ~/tensorflow_datasets"
  if script in ("train.py", "export_dataset.py"):
    order = ("--config.data.data_dir, then " + order
             + " ('mock' selects generated look-alike images, which the :smoke presets set)")
  assert "--data_dir:" in text and f"First set wins: {order}." in text


def test_reproduce_render_only_needs_an_existing_workdir_and_no_only(tmp_path):
  missing = tmp_path / "missing"
  proc = run_launch("reproduce.py", "--render_only", f"--workdir={missing}", timeout=120)
  assert proc.returncode == 2
  assert proc.stderr.strip().splitlines() == [
      f"error: --render_only reads the records in --workdir={missing}, which does not exist."]
  assert not missing.exists()
  proc = run_launch("reproduce.py", "--render_only", "--only=lms5", f"--workdir={tmp_path}",
                    timeout=120)
  assert proc.returncode == 2 and "drop one of them" in proc.stderr
  assert not (tmp_path / "REPRODUCTION.md").exists()


def test_reproduce_exits_1_naming_a_config_that_could_not_run(tmp_path):
  """cifar_only needs CIFAR-10: --data_dir (which wins over $TFDS_DATA_DIR) holds none."""
  empty, env_dir, workdir = tmp_path / "empty", tmp_path / "env", tmp_path / "w"
  empty.mkdir()
  env_dir.mkdir()
  proc = run_launch("reproduce.py", "--preset=smoke", "--only=cifar_only", f"--data_dir={empty}",
                    f"--workdir={workdir}", env={"TFDS_DATA_DIR": str(env_dir)})
  assert proc.returncode == 1, proc.stderr[-2000:]
  assert proc.stderr.strip().splitlines()[-1] == (
      f"error: 1 of 1 requested configs did not run (see {workdir}/REPRODUCTION.md's Not run "
      "list): cifar_only.")
  table = (workdir / "REPRODUCTION.md").read_text()
  assert f"`configs/cifar_only.py`: not run: CIFAR-10 is not prepared in {empty}" in table


# ----------------------------------------------------------------------------- costs


def _committed_run(name):
  with open(os.path.join(REPO, "reproduction", f"{name}.json"), encoding="utf-8") as f:
    return json.load(f)["run"]


def test_a_recorded_preset_costs_its_measured_wall_time():
  run = _committed_run("lms5")
  assert run["preset"] == "cpu"
  cost = costs.estimate("configs/lms5.py:cpu")
  assert cost.measured == costs.Measurement(run["wall_s"], run["machine"], run["date"], "cpu")
  assert cost.text() == f"{costs.duration(run['wall_s'])}, measured {run['date']} on " \
                        f"{run['machine']}"
  # The same config under another preset name takes that record (ms57: default == cpu).
  ms57 = costs.estimate("ms57")
  assert ms57.same_as == "cpu" and ms57.measured.wall_s == _committed_run("ms57")["wall_s"]


def test_an_unmeasured_preset_says_so_and_gives_the_cpu_time(tmp_path):
  default = costs.estimate("configs/lms5.py")
  assert default.measured is None and default.preset == "default"
  assert default.text().startswith("not measured; `:cpu` took ")
  assert costs.duration(_committed_run("lms5")["wall_s"]) in default.text()
  smoke = costs.estimate("lms5", "smoke")
  assert smoke.measured is None and smoke.text().startswith("not measured")
  # A config outside configs/ has no records, whatever its name.
  copy = tmp_path / "lms5.py"
  copy.write_text(open(os.path.join(REPO, "configs", "lms5.py"), encoding="utf-8").read())
  assert costs.estimate(f"{copy}:cpu").text() == "not measured"


def test_records_that_did_not_finish_are_no_measurement(tmp_path):
  run = {"name": "lms5", "preset": "default", "wall_s": 30.0, "machine": "M", "date": "D"}
  (tmp_path / "lms5.json").write_text(json.dumps({"claims": [], "run": {**run, "status": "ok"}}))
  cost = costs.estimate("lms5", "default", records_dir=str(tmp_path))
  assert cost.text() == "30 s, measured D on M" and cost.reduced is None
  assert costs.estimate("lms5", "cpu", records_dir=str(tmp_path)).measured is None
  (tmp_path / "lms5.json").write_text(json.dumps(
      {"claims": [], "run": {**run, "status": "not run: no data"}}))
  assert costs.estimate("lms5", "default", records_dir=str(tmp_path)).measured is None


def test_the_resnet50_benchmark_gives_a_time_per_image_for_the_paper_size_preset():
  with open(os.path.join(REPO, "benchmarks", costs.RESNET50_BENCHMARK), encoding="utf-8") as f:
    rate = json.load(f)["jax"]["images_per_s"]
  cost = costs.estimate("configs/mnist_cifar.py")
  assert cost.needs == "a GPU: ResNet-50" and f"{rate:.1f} images/s" in cost.benchmark
  assert f"{costs.duration(1000 / rate)} per 1,000 training images" in cost.benchmark
  assert costs.estimate("configs/mnist_cifar.py:cpu").benchmark == ""  # a smaller network


def test_the_cpu_note_is_for_the_default_preset_on_a_cpu_only():
  note = costs.cpu_note("configs/sb_hurts_generalization.py", "cpu")
  reduced = costs.estimate("configs/sb_hurts_generalization.py:cpu").measured
  assert reduced.wall_s > costs.QUICK_S / 5
  assert note == ("note: configs/sb_hurts_generalization.py (paper size) is not measured on a "
                  "CPU; configs/sb_hurts_generalization.py:cpu is the reduced variant "
                  f"({reduced.text()}).")
  assert costs.cpu_note("configs/sb_hurts_generalization.py", "gpu") is None
  # The main job: its reduced variant takes seconds and nothing says the paper size needs more.
  assert costs.estimate("configs/lms5.py:cpu").measured.wall_s < costs.QUICK_S / 5
  assert costs.cpu_note("configs/lms5.py", "cpu") is None
  assert costs.cpu_note("configs/lms5.py:cpu", "cpu") is None
  assert costs.cpu_note("configs/ms57.py", "cpu") is None  # its default is the :cpu config
  assert re.search(r"\(needs a GPU: ResNet-50; benchmarks/", costs.cpu_note(
      "configs/mnist_cifar.py", "cpu"))
