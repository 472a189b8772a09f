"""What a user sees and keeps: the progress display, the summary, log.txt's contents, an
interrupted run (in process: the stop request as the signal handler records it) and a run that
fails before training. Real signals in a subprocess are in test_interrupts.py (slow)."""

import io
import json
import logging
import time

import pytest

from conftest import smoke_config
from simplicity_bias import interrupts, pipeline
from simplicity_bias.progress import Display, LineBar
from simplicity_bias.report import console
from simplicity_bias.report.results import write_json
from simplicity_bias.report.run import RunWriter
from simplicity_bias.validation import ConfigError


class _Terminal(io.StringIO):
  def isatty(self):
    return True


@pytest.fixture(autouse=True)
def _no_pending_request():
  interrupts.clear()
  yield
  interrupts.clear()


# ----------------------------------------------------------------------------- the display

def test_plain_output_has_one_stamped_line_per_phase_and_no_carriage_returns():
  out = io.StringIO()
  display = Display(stream=out)
  display.num_cells = 2
  display.cell("fcn")
  with display.phase("loading data"):
    pass
  bar = display.bar(100, 0, "fcn x4 members", "upd")
  assert isinstance(bar, LineBar)
  bar.update(10)
  bar.close()
  display.whole_run()
  with display.phase("writing results"):
    pass
  display.close()
  lines = out.getvalue().splitlines()
  assert "\r" not in out.getvalue()
  assert lines[0].endswith("[1/2 fcn] loading data ...") and lines[0].startswith("[0:00:0")
  assert "[1/2 fcn] fcn x4 members: training from update 0 of 100" in lines[1]
  assert "upd 10/100 (10%)" in lines[2]          # the bar's closing line
  assert lines[3].endswith("] writing results ...")   # no cell once the cells are done
  assert len(lines) == 4


def test_line_bar_writes_at_most_every_interval():
  out = io.StringIO()
  display = Display(stream=out, line_every_s=3600)
  bar = display.bar(1000, 0, "train", "upd")
  for _ in range(50):
    bar.update(1)
  assert len(out.getvalue().splitlines()) == 1   # the start line only
  bar.close()
  assert len(out.getvalue().splitlines()) == 2


def test_terminal_status_line_keeps_its_clock_running():
  out = _Terminal()
  display = Display(stream=out, tick_s=0.05)
  with display.phase("compiling"):
    time.sleep(1.3)
  display.close()
  # The ticker redrew the status line while the block ran, so its elapsed time moved on.
  frames = [f for f in out.getvalue().split("\r") if "compiling" in f]
  assert "compiling (00:00)" in frames and "compiling (00:01)" in frames, frames
  assert len(frames) > 5


def test_a_disabled_display_prints_nothing_but_notes(capsys):
  out = io.StringIO()
  display = Display(enabled=False, stream=out)
  with display.phase("x"):
    pass
  display.note("resume=True but there is no checkpoint")
  assert out.getvalue() == ""
  assert "no checkpoint" in capsys.readouterr().err


# ----------------------------------------------------------------------------- summary, logs

def _row(label, source=None, **metrics):
  row = {"label": label, "summary": {m: {"mean": v, "ci95": 0.01} for m, v in metrics.items()}}
  if source:
    row["source"] = source
  return row


def test_summary_shows_the_headline_metrics_first_and_flags_stand_in_data():
  results = {"rows": [
      _row("resnet", "top block: sklearn digits, not MNIST; bottom block: cifar10 images",
           a_acc=0.5, null_topk=0.41, test_acc=0.99, z_auc=0.7),
      _row("mlp", "top block: sklearn digits, not MNIST; bottom block: cifar10 images",
           test_acc=0.98)]}
  lines = console.summary_lines(results, ("null_topk", "test_acc"))
  assert lines[0] == "  [resnet] null_topk 0.410±0.010, test_acc 0.990±0.010"
  assert lines[1] == "  [mlp] test_acc 0.980±0.010"
  assert lines[2].startswith("  NOT THE PAPER DATA: data: top block: sklearn digits")
  assert len(lines) == 4   # one data line for the two rows, then where the rest is
  # Without a declaration (or none of it in a row): every accuracy and AUC, as before.
  lines = console.summary_lines({"rows": [_row("all", a_acc=0.5, loss=1.0, z_auc=0.7)]},
                                ("null_topk",))
  assert lines[0] == "  [all] a_acc 0.500±0.010, z_auc 0.700±0.010"
  real = console.summary_lines({"rows": [_row("x", "top block: MNIST digits", test_acc=1.0)]})
  assert real[1] == "  data: top block: MNIST digits"


def test_every_experiment_declares_headline_metrics():
  from simplicity_bias.experiments import claim_configs, get_experiment
  for _, experiment in claim_configs():
    module = get_experiment(experiment) if isinstance(experiment, str) else experiment
    assert getattr(module, "HEADLINE", ()), module.NAME


def test_log_file_keeps_project_lines_and_library_warnings_only(tmp_path):
  def record(name, level):
    return logging.LogRecord(name, level, __file__, 1, "m", (), None)
  keep = console.LogFileFilter()
  try:
    console.quiet_console(verbose=False)
    assert keep.filter(record("simplicity_bias.run", logging.INFO))
    assert keep.filter(record("absl", logging.WARNING))
    assert not keep.filter(record("absl", logging.INFO))        # orbax's manager dumps
    assert not keep.filter(record("jax._src.xla_bridge", logging.INFO))
    console.quiet_console(verbose=True)
    assert keep.filter(record("absl", logging.INFO))
  finally:
    console.quiet_console(verbose=False)


def test_interrupted_message_gives_the_command_that_continues():
  argv = ["launch/train.py", "--config=configs/lms5.py", "--workdir=/tmp/my run",
          "--config.overwrite=True"]
  e = interrupts.Interrupted(2, "at update 40 of 300 (lms5 x8 members)", resumable=True)
  assert e.exit_code == 130 and interrupts.Interrupted(15).exit_code == 143
  assert console.interrupted_message(e, argv) == (
      "Ctrl-C: interrupted at update 40 of 300 (lms5 x8 members); continue with: python "
      "launch/train.py --config=configs/lms5.py '--workdir=/tmp/my run' --config.resume=True")
  e = interrupts.Interrupted(15, "before training", resumable=False)
  message = console.interrupted_message(e, argv)
  assert message.startswith("SIGTERM: interrupted before training") and "run the same" in message
  assert "resume" not in message.split(";")[1]


# ----------------------------------------------------------------------------- interrupts

def _requesting_stop_after(checks: int):
  """A RunWriter.metrics_logger that records a stop request (as the signal handler does) once
  ``checks`` checks were logged."""
  original = RunWriter.metrics_logger

  def metrics_logger(self, cell):
    log = original(self, cell)
    seen = [0]

    def wrapped(record):
      log(record)
      seen[0] += 1
      if seen[0] == checks:
        interrupts.request()
    return wrapped
  return metrics_logger


def test_an_interrupt_checkpoints_and_the_resumed_run_equals_an_uninterrupted_one(
    tmp_path, monkeypatch):
  small = {"num_seeds": 1, "evals": ("sb",)}
  reference = pipeline.run(smoke_config("lms5", **small), "", progress=False)
  config = smoke_config("lms5", **small)
  workdir = tmp_path / "run"
  monkeypatch.setattr(RunWriter, "metrics_logger", _requesting_stop_after(2))
  with pytest.raises(interrupts.Interrupted) as caught:
    pipeline.run(config, str(workdir), progress=False)
  assert caught.value.resumable and "at update" in caught.value.where
  metrics = [json.loads(l) for l in (workdir / "metrics.jsonl").read_text().splitlines()]
  assert len(metrics) == 2 and not (workdir / "results.json").exists()
  monkeypatch.undo()
  interrupts.clear()
  with config.unlocked():
    config.resume = True
  resumed = pipeline.run(config, str(workdir), progress=False)
  assert resumed["per_seed"] == reference["per_seed"]
  assert metrics[-1]["step"] < resumed["per_seed"]["updates"][0]   # it stopped mid-training


def test_an_interrupt_before_training_leaves_no_work_directory(tmp_path):
  interrupts.request()
  with pytest.raises(interrupts.Interrupted) as caught:
    pipeline.run(smoke_config("lms5"), str(tmp_path / "run"), progress=False)
  assert not caught.value.resumable
  assert not (tmp_path / "run").exists()


def test_a_resume_without_a_checkpoint_says_so(tmp_path, capsys):
  config = smoke_config("lms5", **{"num_seeds": 1, "evals": ("sb",)})
  workdir = tmp_path / "run"
  workdir.mkdir()
  write_json(str(workdir / "config.json"), config.to_dict())   # an earlier run killed early
  with config.unlocked():
    config.resume = True
  pipeline.run(config, str(workdir), progress=False)
  assert "there is no checkpoint to resume from; training from update 0" in (
      capsys.readouterr().err)


# ----------------------------------------------------------------------------- failed starts

def test_a_run_that_fails_before_training_leaves_the_directory_as_it_found_it(tmp_path):
  empty = tmp_path / "no_data"
  empty.mkdir()
  config = smoke_config("cifar_only", **{"data.data_dir": str(empty)})
  with pytest.raises(ConfigError, match="not prepared"):
    pipeline.run(config, str(tmp_path / "new"), progress=False)
  assert not (tmp_path / "new").exists()                  # created by the run: removed
  (tmp_path / "kept").mkdir()
  (tmp_path / "kept" / "notes.txt").write_text("mine")
  with config.unlocked():
    config.overwrite = True
  with pytest.raises(ConfigError, match="not prepared"):
    pipeline.run(config, str(tmp_path / "kept"), progress=False)
  assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == ["notes.txt"]
