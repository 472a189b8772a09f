"""What every launcher shares: ``--help`` exits 0 and states where image data is read from;
reproduce.py's exit statuses."""

import pytest

from conftest import run_launch

LAUNCHERS = ("train.py", "reproduce.py", "export_dataset.py", "build_datasets.py")


@pytest.mark.parametrize("script", LAUNCHERS)
def test_help_exits_0_and_states_the_data_dir_order(script):
  proc = run_launch(script, "--help", timeout=120)
  assert proc.returncode == 0, proc.stderr[-2000:]
  text = " ".join(proc.stdout.split())  # absl wraps the flag help
  order = "--data_dir, then $TFDS_DATA_DIR, then ~/tensorflow_datasets"
  if script in ("train.py", "export_dataset.py"):
    order = "--config.data.data_dir, then " + order
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

