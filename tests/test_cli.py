"""The command line: bad input gets one sentence and status 2, a work directory is never left
mixed, outputs are readable, the console stays quiet.

Most cases call ``launch/train.py``'s own parse and main functions in this process (the same code
path as the command, without paying a Python + JAX start per case); a few run it as a real
subprocess to check the exit status and stderr of the actual command.
"""

import json
import os
import stat

import pytest

from conftest import launch_train, run_launch
from simplicity_bias.data import mock
from simplicity_bias.validation import ConfigError

train = launch_train()
SMOKE = "--config=configs/lms5.py:smoke"


def cli(capsys, *args):
  """(exit status, stdout, stderr) of ``launch/train.py *args``, run in this process."""
  train.flags.FLAGS.unparse_flags()  # absl keeps flag values between parses
  try:
    argv = train.absl_parser(train._ARGS)(["train.py", *args])
    status = train.main(argv)
  except SystemExit as e:
    status = e.code
  out = capsys.readouterr()
  return status, out.out, out.err


def _read_only_dir(tmp_path):
  """A directory nothing can be created in (for root, chmod is not enough: use /proc)."""
  if os.geteuid() == 0:
    return "/proc/simplicity_bias_test"
  path = tmp_path / "read_only"
  path.mkdir()
  path.chmod(stat.S_IRUSR | stat.S_IXUSR)
  return str(path)


# (overrides, text the single error line must contain)
BAD_INPUTS = [
    (["--config.data.num_trian=10"], "did you mean 'num_train'"),
    (["--config.num_seeds=abc"], "--config.num_seeds=abc: expected an integer"),
    (["--config.data.margin=-0.1"], "data.margin=-0.1 is negative"),
    (["--config.data.linear_margin=1.5"], "data.linear_margin=1.5 must be smaller than"),
    (["--config.data.slab_margin=0.3"], "data.slab_margin=0.3 leaves no room"),
    (["--config.data.num_train=-5"], "data.num_train"),
    (["--config.data.dim=20", "--config.data.num_slabs=49"],
     "data.dim=20 is smaller than the 50 feature"),
    (["--config.train.batch_size=100000"], "larger than the training set"),
    (["--config.optim.learning_rate=nan"], "optim.learning_rate=nan must be a finite number"),
    (["--config.optim.name=lbfgs"], "optim.name='lbfgs' is unknown"),
    (["--config.data.name=lms9"], "unknown dataset data.name='lms9'"),
    (["--config.data.name=custom", "--config.data.blocks=linear:1:simple,spiral:49:complex"],
     "unknown kind 'spiral'"),
    (["--config.data.name=custom", "--config.data.blocks=linear:1:simple,slab4:49:complex"],
     "k must be one of"),
    (["--config.evals=('sb','nope')"], "unknown evaluator 'nope'"),
    (["--config.grid.slab_margin=(0.05,0.3)"], "grid.slab_margin=0.3 leaves no room"),
]


@pytest.mark.parametrize("overrides,message", BAD_INPUTS)
def test_bad_input_is_one_sentence_with_status_2(capsys, tmp_path, overrides, message):
  workdir = tmp_path / "w"
  status, out, err = cli(capsys, SMOKE, f"--workdir={workdir}", *overrides)
  assert status == 2, err
  lines = err.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err
  assert not workdir.exists()


def test_unknown_models_list_only_models_for_the_data(capsys, tmp_path):
  status, _, err = cli(capsys, SMOKE, f"--workdir={tmp_path / 'w'}", "--config.model.name=perceptron")
  assert status == 2 and "valid models for vector data: " in err
  assert "fcn" in err and "resnet" not in err and "vgg" not in err
  status, _, err = cli(capsys, SMOKE, f"--workdir={tmp_path / 'w'}",
                       "--config.model.name=resnet18")
  assert status == 2 and "takes images" in err and "fcn" in err
  # A field the chosen model does not take, moved off its default: a fix that can be typed.
  status, _, err = cli(capsys, SMOKE, f"--workdir={tmp_path / 'w'}", "--config.model.name=gru",
                       "--config.model.width=300")
  assert status == 2 and "--config.model.width=100" in err, err
  # ... while fields at their defaults are simply not used: any vector model can be picked.
  status, out, err = cli(capsys, SMOKE, "--config.model.name=cnn1d", "--config.model.filters=4",
                         "--print_config")
  assert status == 0, err
  assert "name: cnn1d" in out and "filters: 4" in out


@pytest.mark.parametrize("case", ["missing_config", "unknown_preset", "file_workdir",
                                  "read_only_workdir", "resume_without_run", "unknown_flag"])
def test_command_line_mistakes_are_one_sentence(capsys, tmp_path, case):
  file_path = tmp_path / "a_file"
  file_path.write_text("x")
  args, message = {
      "missing_config": (["--config=configs/nope.py", f"--workdir={tmp_path / 'w'}"],
                         "does not exist"),
      "unknown_preset": (["--config=configs/lms5.py:fast", f"--workdir={tmp_path / 'w'}"],
                         "unknown preset 'fast'"),
      "file_workdir": ([SMOKE, f"--workdir={file_path}"], "is an existing file"),
      "read_only_workdir": ([SMOKE, f"--workdir={_read_only_dir(tmp_path)}/w"],
                            "is not writable"),
      "resume_without_run": ([SMOKE, f"--workdir={tmp_path / 'w'}", "--config.resume=True"],
                             "holds no earlier run"),
      "unknown_flag": ([SMOKE, f"--workdir={tmp_path / 'w'}", "--wokdir=x"], "wokdir"),
  }[case]
  status, _, err = cli(capsys, *args)
  assert status == 2, err
  lines = err.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err


def test_the_real_command_exits_2_without_a_traceback(tmp_path):
  proc = run_launch("train.py", SMOKE, f"--workdir={tmp_path / 'w'}",
                    "--config.data.num_trian=10", timeout=120)
  assert proc.returncode == 2
  assert proc.stderr.strip().splitlines() == [
      "error: --config.data.num_trian: config.data has no field 'num_trian'; did you mean "
      "'num_train'?"]
  assert not (tmp_path / "w").exists()


def test_print_config_shows_every_field_and_exits_0(capsys):
  status, out, _ = cli(capsys, SMOKE, "--config.num_seeds=5", "--print_config")
  assert status == 0
  assert "num_seeds: 5" in out and "num_train: 4000" in out and "grid:" in out


# ----------------------------------------------------------------------------- work directories


@pytest.fixture(scope="module")
def one_run(tmp_path_factory):
  """A one-seed run through the real command (progress on: the console is what users see)."""
  workdir = tmp_path_factory.mktemp("cli") / "run"
  proc = run_launch("train.py", SMOKE, f"--workdir={workdir}", "--config.num_seeds=1",
                    "--config.progress=True", "--config.evals=('sb',)",
                    env={"JAX_PLATFORMS": ""})
  assert proc.returncode == 0, proc.stderr[-3000:]
  return workdir, proc


def test_console_shows_progress_and_summary_only(one_run):
  workdir, proc = one_run
  # Library chatter (JAX probing for accelerators, orbax's manager) goes to log.txt.
  for noise in ("xla_bridge", "libtpu", "CheckpointManager", "orbax"):
    assert noise not in proc.stderr, proc.stderr[-2000:]
  # log.txt keeps the project's own lines; library INFO records only with --verbosity=1.
  log = (workdir / "log.txt").read_text()
  assert "simplicity_bias.run: new run of synthetic_sb" in log
  assert "orbax" not in log and "INFO absl" not in log, log[:2000]
  # Not a terminal: one time-stamped line per phase, never carriage returns.
  assert "\r" not in proc.stderr
  for phase in ("loading data ...", "initialising 1 members ...", "training from update 0",
                "evaluating (sb) ...", "drawing score_histograms.png ...", "writing results ..."):
    assert phase in proc.stderr, (phase, proc.stderr[-2000:])
  # The bar of a run that stopped early is closed with a note, not left at a low percentage.
  assert "all stopped at epoch" in proc.stderr
  assert "wrote" in proc.stdout and "test_auc" in proc.stdout


def test_outputs_are_readable_and_one_seed_has_no_interval(one_run):
  workdir, _ = one_run
  umask = os.umask(0)
  os.umask(umask)
  for name in ("config.json", "results.json", "results.csv", "report.md", "metrics.jsonl",
               "score_histograms.png"):
    mode = stat.S_IMODE(os.stat(workdir / name).st_mode)
    assert mode == 0o666 & ~umask, (name, oct(mode))
  report = (workdir / "report.md").read_text()
  assert "(n = 1, no interval)" in report and "± 0.000" not in report
  assert "1.0000001" not in report
  results = json.loads((workdir / "results.json").read_text())
  updates = results["summary"]["updates"]["mean"]
  assert f"| {updates:.0f} (n = 1" in report  # an integer count, printed as one


def test_a_used_workdir_is_refused_resumed_or_replaced(one_run, tmp_path, capsys):
  workdir, _ = one_run
  copy = tmp_path / "copy"
  copy.mkdir()
  for name in ("config.json", "results.json", "report.md", "metrics.jsonl"):
    (copy / name).write_bytes((workdir / name).read_bytes())
  (copy / "notes.txt").write_text("mine")
  status, _, err = cli(capsys, SMOKE, f"--workdir={copy}")
  assert status == 2 and "--config.overwrite=True" in err and "--config.resume=True" in err
  status, _, err = cli(capsys, SMOKE, f"--workdir={copy}", "--config.resume=True")
  assert status == 2 and "num_seeds" in err  # config.json says 1 seed, the command 3
  before = (copy / "results.json").read_text()
  status, _, err = cli(capsys, SMOKE, f"--workdir={copy}", "--config.overwrite=True",
                       "--config.num_seeds=2", "--config.evals=('sb',)")
  assert status == 0, err
  assert json.loads((copy / "config.json").read_text())["num_seeds"] == 2
  assert (copy / "results.json").read_text() != before
  assert len(json.loads((copy / "results.json").read_text())["per_seed"]["test_auc"]) == 2
  assert (copy / "notes.txt").read_text() == "mine"  # files the run does not own stay


def test_nan_loss_exits_3_without_results(tmp_path):
  proc = run_launch("train.py", SMOKE, f"--workdir={tmp_path}",
                    "--config.optim.learning_rate=1e12", "--config.num_seeds=1",
                    "--config.evals=('sb',)", timeout=300)
  assert proc.returncode == 3, proc.stderr[-2000:]
  assert "NaN/inf" in proc.stderr
  assert not (tmp_path / "results.json").exists()
  assert (tmp_path / "config.json").exists()  # written first; it matches what ran


def test_export_writes_the_dataset_a_member_trains_on(tmp_path):
  """launch/export_dataset.py --member=K writes exactly the data member K of a run trains on."""
  from conftest import load_config
  from simplicity_bias.data import registry
  from simplicity_bias.pipeline import layout_of
  import numpy as np
  out = tmp_path / "lms5.npz"
  proc = run_launch("export_dataset.py", "--config=configs/lms5.py:smoke", f"--output={out}",
                    "--member=1")
  assert proc.returncode == 0, proc.stderr[-2000:]
  arrays = np.load(out)
  config = load_config("lms5", "smoke")
  d = config.data
  assert arrays["x_train"].shape == (d.num_train, 50) and arrays["y_train"].shape == (d.num_train,)
  assert arrays["x_test"].shape == (d.num_test, 50) and arrays["y_test"].shape == (d.num_test,)
  np.testing.assert_allclose(arrays["rotation"] @ arrays["rotation"].T, np.eye(50), atol=1e-5)
  assert arrays["simple_coords"].tolist() == [0]
  assert arrays["complex_coords"].tolist() == list(range(1, 50))
  trained = registry.build(config, layout_of(config))
  for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test", "rotation"):
    np.testing.assert_allclose(arrays[name], np.asarray(getattr(trained, name)[1]), atol=1e-6)
  z = arrays["x_train"] @ arrays["rotation"].T
  assert np.all(np.sign(z[:, 0]) == 2 * arrays["y_train"] - 1)  # the linear coordinate
  # A member that does not exist is one sentence.
  proc = run_launch("export_dataset.py", "--config=configs/lms5.py:smoke", f"--output={out}",
                    "--member=99")
  assert proc.returncode == 2 and "out of range" in proc.stderr


# ----------------------------------------------------------------------------- data and cost


def test_data_dir_reaches_the_config_after_the_file_and_before_an_explicit_field(
    capsys, tmp_path, monkeypatch):
  """Order: --config.data.data_dir, then --data_dir, then $TFDS_DATA_DIR, then the default."""
  image = "--config=configs/mnist_cifar.py:cpu"
  monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "env"))
  monkeypatch.setenv("SIMPLICITY_BIAS_MOCK_DATA_DIR", str(tmp_path / "mock"))
  # The smoke preset names the generated data, which --data_dir replaces like any field value.
  status, out, _ = cli(capsys, "--config=configs/mnist_cifar.py:smoke", "--print_config")
  assert status == 0 and "data_dir: mock" in out
  assert (f"# data directory: {tmp_path / 'mock' / f'v{mock.VERSION}'} (generated mock data, data_dir=mock)"
          in out)
  status, out, _ = cli(capsys, "--config=configs/mnist_cifar.py:smoke", f"--data_dir={tmp_path}",
                       "--print_config")
  assert status == 0 and f"data_dir: {tmp_path}" in out
  status, out, _ = cli(capsys, image, "--print_config")
  assert status == 0 and "data_dir: ''" in out
  assert f"# data directory: {tmp_path / 'env'} (from $TFDS_DATA_DIR)" in out
  status, out, _ = cli(capsys, image, f"--data_dir={tmp_path / 'flag'}", "--print_config")
  assert status == 0 and f"data_dir: {tmp_path / 'flag'}" in out
  assert f"# data directory: {tmp_path / 'flag'} (from data.data_dir)" in out
  for order in ((f"--config.data.data_dir={tmp_path / 'field'}", f"--data_dir={tmp_path}"),
                (f"--data_dir={tmp_path}", f"--config.data.data_dir={tmp_path / 'field'}")):
    status, out, _ = cli(capsys, image, *order, "--print_config")
    assert status == 0 and f"data_dir: {tmp_path / 'field'}" in out
  # A config that generates its data has no data_dir: the flag is ignored, and said so.
  status, out, err = cli(capsys, SMOKE, f"--data_dir={tmp_path}", "--print_config")
  assert status == 0 and "data_dir" not in out
  assert err.strip() == "note: --data_dir is ignored: configs/lms5.py:smoke generates its data."


def test_print_config_ends_with_the_presets_measured_cost(capsys):
  from simplicity_bias.report import costs
  status, out, _ = cli(capsys, "--config=configs/lms5.py:cpu", "--print_config")
  assert status == 0
  assert out.strip().splitlines()[-1] == (
      f"# cost of this preset: {costs.estimate('configs/lms5.py:cpu').text()}")
  assert " s, measured 20" in out.strip().splitlines()[-1]


def test_the_paper_size_preset_on_a_cpu_prints_one_note_before_it_starts(capsys, tmp_path):
  from simplicity_bias.report import costs
  file_path = tmp_path / "a_file"  # a work directory the run refuses, after the note
  file_path.write_text("x")
  status, out, err = cli(capsys, "--config=configs/mnist_cifar.py", f"--workdir={file_path}")
  assert status == 2 and "is an existing file" in err
  note = costs.cpu_note("configs/mnist_cifar.py", "cpu")
  assert out.strip().splitlines() == [note]
  assert note.startswith("note: configs/mnist_cifar.py (paper size) is not measured on a CPU")
  assert "configs/mnist_cifar.py:cpu is the reduced variant (" in note
  status, out, _ = cli(capsys, "--config=configs/mnist_cifar.py:cpu", f"--workdir={file_path}")
  assert status == 2 and out == ""


def test_presets_are_tables_applied_field_by_field(tmp_path):
  """A preset sets only the fields it names, replaces a section wrapped in Whole, and a field the
  config lacks is refused with the preset's name and the section's fields."""
  from simplicity_bias.configs import Whole, load_config, merge
  path = tmp_path / "toy.py"
  path.write_text(
      "import ml_collections\n"
      "from simplicity_bias.config_base import Whole, merge\n\n\n"
      "def get_config():\n"
      "  return ml_collections.ConfigDict({'a': 1, 'sec': {'x': 1.0, 'y': 'keep'},\n"
      "                                    'table': {'k': {'u': 1}}})\n\n\n"
      "PRESETS = {'small': {'a': 2, 'sec': {'x': 0.5}},\n"
      "           'whole': {'table': Whole({'j': {'v': 2}})},\n"
      "           'merged': merge({'sec': {'x': 3.0, 'y': 'base'}}, {'sec': {'y': 'late'}}),\n"
      "           'typo': {'sec': {'z': 1}}}\n")
  base = load_config(f"{path}")
  assert (base.a, base.sec.x, base.sec.y) == (1, 1.0, "keep")
  small = load_config(f"{path}:small")
  assert (small.a, small.sec.x, small.sec.y, small.table.k.u) == (2, 0.5, "keep", 1)
  assert load_config(f"{path}:whole").table.to_dict() == {"j": {"v": 2}}
  merged = load_config(f"{path}:merged")
  assert (merged.sec.x, merged.sec.y) == (3.0, "late")
  with pytest.raises(ConfigError, match=r"preset 'typo' of .*toy.py sets sec.z, which the "
                                        r"config lacks; sec has x, y"):
    load_config(f"{path}:typo")
  with pytest.raises(ConfigError, match=r"unknown preset 'big' for .*toy.py; valid: small, "
                                        r"whole, merged, typo\."):
    load_config(f"{path}:big")
  assert merge({"a": {"b": 1}}, {"a": Whole({"c": 2})}) == {"a": {"c": 2}}
