"""Every command in the README and in the config docstrings runs.

The fast test parses and validates each documented ``launch/train.py`` command (its `:smoke`
preset, ``--print_config``): a command that no longer parses fails here. The slow test runs each
one end to end (`:smoke`, a temporary work directory), plus the documented export and reproduce
commands, and the README's one-file toy experiment with and without its new objective.
"""

import glob
import os
import re
import shlex

import pytest

from conftest import REPO, launch_train, run_launch

train = launch_train()

COMMAND = re.compile(r"python launch/(train|export_dataset|reproduce)\.py[^`\n]*")


def documented_commands():
  """(source, script, args) of every launch command in the README and config docstrings."""
  sources = [os.path.join(REPO, "README.md")] + sorted(glob.glob(os.path.join(REPO, "configs",
                                                                             "*.py")))
  found = []
  for path in sources:
    text = open(path, encoding="utf-8").read()
    if path.endswith(".py"):
      text = text.split('"""')[1]  # the docstring
    for line in text.replace("\\\n", " ").splitlines():
      for match in COMMAND.finditer(line):
        command = match.group(0).split(" #")[0].strip().rstrip("|").strip()
        if "<" in command:  # a synopsis such as configs/<claim>.py, not a command
          continue
        args = shlex.split(command)[2:]
        found.append((os.path.relpath(path, REPO), match.group(1), args))
  return found


def _smoke(args, preset=":smoke"):
  """The command with the `:smoke` preset (``preset=None``: as documented) and without its work
  directory / output."""
  out = []
  for a in args:
    if a.startswith("--config=") and "configs/" in a and preset:
      out.append(a.split(":")[0] + preset)
    elif not a.startswith(("--workdir", "--output")):
      out.append(a)
  return out


COMMANDS = documented_commands()
# The README's toy experiment is a file the reader creates: test_readme_toy_... runs it.
_TRAIN = [args for _, script, args in COMMANDS if script == "train"
          and not any(a.startswith("--config=toy_width.py") for a in args)]
DOCUMENTED = sorted({tuple(_smoke(args, preset=None)) for args in _TRAIN})
TRAIN = sorted({tuple(_smoke(args)) for args in _TRAIN})
# Run end to end as a subprocess: the commands that add overrides to a config, and the README's
# main job. Every documented command parses and validates in the fast test below, and every
# claim config's `:smoke` run goes through the same pipeline in test_smoke_golden, so running
# each plain `--config=configs/<name>.py` again in a fresh process would only add ~20 minutes.
# A command that switches the model (e.g. `--config.model.name=densenet121`) documents the
# paper-size preset; the `:smoke` preset's small widths belong to its own model, so that command
# is only validated as documented.
RUN = [a for a in TRAIN if (any(x.startswith("--config.") for x in a)
                            and not any(x.startswith("--config.model.name=") for x in a))
       or a == ("--config=configs/lms5.py:smoke",)]


def test_the_docs_document_commands():
  assert len(TRAIN) >= 12, TRAIN  # every claim config's command, and the README's variants
  assert any("--config.grid.slab_margin=(0.05,0.1,0.15)" in c for c in TRAIN)
  assert ("--config=configs/lms5.py:smoke",) in RUN and len(RUN) >= 2, RUN


@pytest.mark.parametrize("args", DOCUMENTED, ids=[" ".join(a) for a in DOCUMENTED])
def test_documented_command_parses_and_validates(args, capsys):
  train.flags.FLAGS.unparse_flags()
  try:
    status = train.main(train.absl_parser(train._ARGS)(["train.py", *args, "--print_config"]))
  except SystemExit as e:
    status = e.code
  assert status == 0, capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("args", RUN, ids=[" ".join(a) for a in RUN])
def test_documented_command_runs(args, tmp_path):
  proc = run_launch("train.py", *args, f"--workdir={tmp_path / 'w'}")
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert (tmp_path / "w" / "results.json").exists()


@pytest.mark.slow
def test_documented_export_and_reproduce_commands_run(tmp_path):
  others = [(script, args) for _, script, args in COMMANDS if script != "train"]
  assert {script for script, _ in others} == {"export_dataset", "reproduce"}
  for script, args in others:
    args = _smoke(args)
    if script == "export_dataset":
      args.append(f"--output={tmp_path / 'export.npz'}")
    else:  # the table machinery on the cheapest claim config; every config is run by CI's smoke
      args = ["--preset=smoke", "--only=lms5", f"--workdir={tmp_path / 'reproduce'}"]
    proc = run_launch(f"{script}.py", *args)
    assert proc.returncode == 0, (script, proc.stderr[-3000:])


def _readme_code_blocks():
  text = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
  section = text.split("## How to add an experiment")[1].split("\n## ")[0]
  return re.findall(r"```python\n(.*?)```", section, re.S)


@pytest.mark.slow
def test_readme_toy_experiment_and_objective_run(tmp_path):
  toy, objective = _readme_code_blocks()
  path = tmp_path / "toy_width.py"
  path.write_text(toy)
  proc = run_launch("train.py", f"--config={path}:smoke", f"--workdir={tmp_path / 'a'}")
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "LMS-5, (1000,2)-FCN" in (tmp_path / "a" / "report.md").read_text()
  # The objective block as written, plus the config line its comment describes.
  line = objective.strip().splitlines()[-1]
  assert line.startswith("# in get_config: ")
  path.write_text(toy + "\n" + objective + "\n_get_config = get_config\n\n\n"
                  "def get_config():\n  c = _get_config()\n  "
                  + line[len("# in get_config: "):] + "\n  return c\n")
  proc = run_launch("train.py", f"--config={path}:smoke", f"--workdir={tmp_path / 'b'}")
  assert proc.returncode == 0, proc.stderr[-3000:]
  config = (tmp_path / "b" / "config.json").read_text()
  assert '"label_smoothing"' in config
