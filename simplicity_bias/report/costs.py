"""What running a config's preset costs, from measurements only.

  from simplicity_bias.report import costs
  cost = costs.estimate("configs/mnist_cifar.py")   # also "mnist_cifar", "configs/lms5.py:cpu"
  cost.measured   # Measurement(wall_s, machine, date, preset) of a recorded run, or None
  cost.text()     # one line: the measured time, or "not measured" and what the data supports
  costs.cpu_note("configs/mnist_cifar.py")  # the line launch/train.py prints on a CPU, or None

Sources, nothing typed by hand: the committed per-config records ``reproduction/<name>.json``
(their ``run``: ``preset``, ``wall_s``, ``machine``, ``date``; ``launch/reproduce.py
--records=reproduction`` writes them) and the benchmark results ``benchmarks/*.json``. A preset
is measured when a record holds a finished run of it, or of a preset whose config is identical
(ms57's default and ``:cpu``). Otherwise its cost is "not measured", followed by what the data
does support: for the CIFAR ResNet-50 trained on MNIST-CIFAR images, the time per image of
``benchmarks/resnet50_images.json``; the ``:cpu`` preset's measured time for comparison. A
constraint that is no measurement stays a declaration in the config file, ``PAPER_SIZE_NEEDS``
(e.g. ``"a GPU: DenseNet-121"``), shown with the default preset's cost.
"""

import dataclasses
import json
import os
from typing import Optional, Tuple

from simplicity_bias.configs import REPO, config_path, load_config, load_module
from simplicity_bias.validation import ConfigError

RECORDS_DIR = os.path.join(REPO, "reproduction")
BENCHMARKS_DIR = os.path.join(REPO, "benchmarks")
REDUCED = "cpu"  # the preset of each config that runs on a CPU
RESNET50_BENCHMARK = "resnet50_images.json"


def duration(seconds: float) -> str:
  """``14 s``, ``3.2 min``, ``2.5 h``."""
  if seconds < 60:
    return f"{seconds:.0f} s"
  if seconds < 120 * 60:
    return f"{seconds / 60:.1f} min"
  return f"{seconds / 3600:.1f} h"


@dataclasses.dataclass(frozen=True)
class Measurement:
  """One recorded run of a preset."""
  wall_s: float
  machine: str
  date: str
  preset: str

  def text(self, machine: bool = True) -> str:
    where = f" on {self.machine}" if machine and self.machine else ""
    return f"{duration(self.wall_s)}, measured {self.date}{where}"


@dataclasses.dataclass(frozen=True)
class Cost:
  """What a config's preset costs.

  ``measured``: a recorded run of this preset, or of ``same_as`` (a recorded preset with the
  identical config); None: not measured. ``reduced``: the ``:cpu`` preset's run, for comparison
  (presets other than ``:cpu``). ``needs``: the config's ``PAPER_SIZE_NEEDS`` (default preset).
  ``benchmark``: a time derived from ``benchmarks/*.json``, '' when none applies.
  """
  name: str
  preset: str
  measured: Optional[Measurement] = None
  same_as: str = ""
  reduced: Optional[Measurement] = None
  needs: str = ""
  benchmark: str = ""

  def text(self, machine: bool = True, reduced: bool = True) -> str:
    """One line; ``machine=False`` leaves out the machines of recorded runs (REPRODUCTION.md
    lists them beside), ``reduced=False`` the ``:cpu`` comparison."""
    if self.measured:
      same = f" (the same config as `:{self.same_as}`)" if self.same_as else ""
      return self.measured.text(machine) + same
    return "; ".join(["not measured"] + self.supported(machine, reduced))

  def supported(self, machine: bool = True, reduced: bool = True):
    """What the data says about an unmeasured preset: its needs, a benchmark-based time and the
    ``:cpu`` preset's measured time."""
    parts = [f"needs {self.needs}"] if self.needs else []
    if self.benchmark:
      parts.append(self.benchmark)
    if reduced and self.reduced:
      parts.append(f"`:{REDUCED}` took {self.reduced.text(machine)}")
    return parts

  def table_cells(self) -> Tuple[str, str]:
    """(this preset's cost, the reduced variant) for REPRODUCTION.md's paper-size table."""
    reduced = f"`:{REDUCED}`"
    if self.reduced:
      reduced += f", {duration(self.reduced.wall_s)}"
    return self.text(machine=False, reduced=False), reduced


def _split(spec: str, preset: Optional[str]) -> Tuple[str, str]:
  path, _, inline = spec.partition(":")
  return path, inline if preset is None else preset


def _name(path: str) -> str:
  return os.path.splitext(os.path.basename(path))[0]


def _record_name(path: str) -> Optional[str]:
  """The config's name if it is one of this repository's configs (whose runs are recorded)."""
  name = _name(path)
  if not path.endswith(".py") and os.sep not in path:
    return name
  return name if os.path.abspath(path) == config_path(name) else None


def recorded_run(name: str, records_dir: str = RECORDS_DIR) -> Optional[Measurement]:
  """The finished run in ``records_dir/<name>.json``, or None (no record, or not run)."""
  path = os.path.join(records_dir, f"{name}.json")
  if not os.path.exists(path):
    return None
  with open(path, encoding="utf-8") as f:
    run = json.load(f).get("run", {})
  if not str(run.get("status", "")).startswith("ok") or run.get("wall_s") is None:
    return None
  return Measurement(float(run["wall_s"]), run.get("machine", ""), str(run.get("date", "")),
                     run.get("preset", "default") or "default")


def _config(path: str, preset: str):
  try:
    return load_config(path, preset)
  except ConfigError:
    return None


def resnet50_benchmark(config, benchmarks_dir: str = BENCHMARKS_DIR) -> str:
  """The training time per image that ``benchmarks/resnet50_images.json`` measured, for a config
  that trains that network (ERM, MNIST-CIFAR images, the default widths); '' otherwise."""
  path = os.path.join(benchmarks_dir, RESNET50_BENCHMARK)
  model, data = config.get("model"), config.get("data")
  if (not os.path.exists(path) or model is None or data is None
      or model.get("name") != "resnet50" or model.get("base_width") != 64
      or model.get("stem_pool") is not None or data.get("source") != "mnist_cifar"
      or config.get("objective", {}).get("name") != "erm"
      or (config.get("sweep") and config.sweep.get("models"))):
    return ""
  with open(path, encoding="utf-8") as f:
    bench = json.load(f)
  rate = bench["jax"]["images_per_s"] / bench["jax"].get("members", 1)
  impl = bench["args"]["conv_impl"]
  machine = bench["machine"]
  where = (f"{machine['cpu_model']}, {machine['cpu_count']} CPU cores"
           if machine.get("jax_backend") == "cpu" else machine.get("jax_device_kind", "?"))
  how = "" if model.get("conv_impl") == impl else f" with --config.model.conv_impl={impl}"
  num_train = int(data.get("num_train") or 0)
  per = (f"{duration(num_train / rate)} per epoch of {num_train:,} images" if num_train else
         f"{duration(1000 / rate)} per 1,000 training images and epoch")
  return (f"benchmarks/{RESNET50_BENCHMARK}: the ResNet-50 trains at {rate:.1f} images/s{how}, "
          f"{per} per model, measured {machine['date'][:10]} on {where}")


def estimate(spec: str, preset: Optional[str] = None, records_dir: str = RECORDS_DIR,
             benchmarks_dir: str = BENCHMARKS_DIR) -> Cost:
  """The cost of ``spec`` (``path/to/config.py[:preset]`` or a config name; ``preset``
  overrides the one in ``spec``; '' and 'default' are the paper-size preset)."""
  path, preset = _split(spec, preset)
  preset = preset or "default"
  name = _record_name(path)
  run = recorded_run(name, records_dir) if name else None
  measured, same_as = None, ""
  config = _config(path, "" if preset == "default" else preset)
  if run and run.preset == preset:
    measured = run
  elif run and config is not None:
    recorded = _config(path, "" if run.preset == "default" else run.preset)
    if recorded is not None and recorded.to_dict() == config.to_dict():
      measured, same_as = run, run.preset
  reduced = run if run and run.preset == REDUCED and preset != REDUCED else None
  needs = str(getattr(load_module(path), "PAPER_SIZE_NEEDS", "")) if preset == "default" else ""
  benchmark = resnet50_benchmark(config, benchmarks_dir) if config is not None else ""
  return Cost(_name(path), preset, measured, same_as, reduced, needs, benchmark)


def table_cells(names, records_dir: str = RECORDS_DIR):
  """{name: (paper-size cost, reduced variant)}: REPRODUCTION.md's table of the default
  presets, from the records in ``records_dir``."""
  return {n: estimate(n, "default", records_dir).table_cells() for n in names}


# A run this short on a CPU needs no warning before it starts.
QUICK_S = 600.0


def cpu_note(spec: str, platform: Optional[str] = None) -> Optional[str]:
  """The line ``launch/train.py`` prints before it starts the paper-size (default) preset of a
  config that has a reduced ``:cpu`` preset on a CPU (``platform``: JAX's default backend,
  queried when None); None in every other case: the two presets are the same config, or the
  paper size is quick on a CPU (see ``QUICK_S``)."""
  path, preset = _split(spec, None)
  if preset:
    return None
  if platform is None:
    import jax
    platform = jax.default_backend()
  if platform != "cpu" or _config(path, REDUCED) is None:
    return None
  cost = estimate(path, "default")
  if cost.same_as == REDUCED:
    return None
  # Quiet where the paper size is quick on a CPU: measured under QUICK_S, or unmeasured with
  # no stated need and a reduced variant measured under QUICK_S / 5 (LMS-5, the main job).
  if cost.measured and cost.measured.wall_s < QUICK_S:
    return None
  if (not cost.measured and not cost.needs and cost.reduced is not None
      and cost.reduced.wall_s < QUICK_S / 5):
    return None
  if cost.measured:
    what = f"took {cost.measured.text()}"
  else:
    known = cost.supported(reduced=False)
    what = "is not measured on a CPU" + (f" ({'; '.join(known)})" if known else "")
  reduced = cost.reduced.text() if cost.reduced else "not measured"
  return (f"note: {path} (paper size) {what}; {path}:{REDUCED} is the reduced variant "
          f"({reduced}).")
