"""``launch/reproduce.py --launcher=ray``: every claim config as one Ray task.

  from simplicity_bias import ray_launcher
  ray_launcher.require_ray()                      # ImportError naming the extra to install
  cluster = ray_launcher.init(address=None, num_cpus=2)   # a local instance, or a cluster
  launch = ray_launcher.run(configs, workdir, "smoke", records_dir=None, resume=False,
                            cpus_per_task=1, gpus_per_image_task=None, max_retries=2)
  ray_launcher.shutdown()
  launch.statuses    # {name: "ok" | "failed: ..." | "not run: ..."}, in the order of configs

Each task runs :func:`simplicity_bias.reproduce.run_config` on the validated config the driver
sends (the serial launcher's step: ``pipeline.run`` into ``WORKDIR/<name>``, then the record),
with ``cpus_per_task`` CPUs, and ``gpus_per_image_task`` GPUs for an image config
(:func:`is_image_config`; default: 1 when the cluster has GPUs when the launch starts, else 0).
Where GPUs are in play, the tasks without one run with ``JAX_PLATFORMS=cpu``, so that no task
touches a GPU that Ray gave to another. The work directory must be on a file system every
node sees: the tasks write their runs and records there, and a retry resumes from there.

A task that fails (an exception, its worker or node lost, a SIGTERM) is retried up to
``max_retries`` times; a retry continues the run from its checkpoints (``resume=True`` once the
run's ``config.json`` exists) and says so on its first line. Each attempt appends a line to
``WORKDIR/.ray_attempts/<launch>/<name>`` (its process id and host), which is how a retry knows it
is one. A task that still fails gets a "failed: ..." record written by the driver. A stop request
of the driver (Ctrl-C, SIGTERM) cancels the tasks: each stops at its next safe point with a
checkpoint, and :attr:`Launch.interrupted` is set.
"""

import os
import signal
import socket
import sys
import time
import uuid
from typing import Dict, List, NamedTuple, Optional

from simplicity_bias import interrupts
from simplicity_bias.reproduce import run_config, set_resume, write_record

MISSING = ("error: --launcher=ray needs Ray, which is not installed here; install the project's "
           "'ray' extra: pip install -e \".[ray]\".")
ATTEMPTS = ".ray_attempts"


def require_ray():
  """Imports ray; an ImportError whose message is :data:`MISSING` when it is not installed."""
  try:
    import ray
  except ImportError:
    raise ImportError(MISSING) from None
  return ray


def is_image_config(config) -> bool:
  """A config whose data are images read from files (it gets a GPU where the cluster has one):
  every data source but the generated synthetic vectors."""
  from simplicity_bias.data import registry
  return registry.source_name(config) != "synthetic"


def _package_dir() -> str:
  import simplicity_bias
  return os.path.dirname(os.path.abspath(simplicity_bias.__file__))


def code_root() -> str:
  """The directory this ``simplicity_bias`` package is imported from (put first on the tasks'
  ``PYTHONPATH``, so workers that see the same path import the same code as the driver)."""
  return os.path.dirname(_package_dir())


def init(address: Optional[str] = None, num_cpus: Optional[int] = None) -> str:
  """Connects to the Ray cluster at ``address`` (``"auto"``: the one started on this node), or
  starts a local instance with ``num_cpus`` CPUs (all when None). Returns a description of its
  resources."""
  import warnings
  ray = require_ray()
  kwargs = {"address": address} if address else {"num_cpus": num_cpus}
  with warnings.catch_warnings():
    # JAX warns of any fork once it is imported; Ray's fork is the exec of its own processes.
    warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called",
                            category=RuntimeWarning)
    ray.init(include_dashboard=False, log_to_driver=True, **kwargs)
  interrupts.install()  # ray.init takes SIGTERM: route it back to the stop request
  resources = ray.cluster_resources()
  where = f"the Ray cluster at {address}" if address else "a local Ray instance"
  gpus = f", {resources['GPU']:g} GPUs" if resources.get("GPU") else ""
  return f"{where} ({resources.get('CPU', 0):g} CPUs{gpus})"


def shutdown() -> None:
  import ray
  ray.shutdown()


class Launch(NamedTuple):
  """What a launch did: ``statuses`` of the configs that finished (ok, failed or not run, as their
  records say), the names of those that did not finish, and the driver's stop request (or None)."""
  statuses: Dict[str, str]
  unfinished: List[str]
  interrupted: Optional[interrupts.Interrupted]


# ----------------------------------------------------------------------------- the task

_WORKER_READY = [False]


def _prepare_worker():
  """What the serial launcher does once per process: a quiet console and the compile cache."""
  if not _WORKER_READY[0]:
    from simplicity_bias import compile_cache
    from simplicity_bias.report.console import quiet_console
    quiet_console()
    compile_cache.enable()
    _WORKER_READY[0] = True


def _attempts(path: str) -> List[str]:
  """The attempt lines in ``path`` ("<pid> <host>"), oldest first."""
  if not os.path.exists(path):
    return []
  with open(path, encoding="utf-8") as f:
    return [line.strip() for line in f if line.strip()]


def run_task(name: str, config, workdir: str, preset_label: str, records_dir: Optional[str],
             resume: bool, attempts_dir: str, command: Optional[str] = None) -> Dict:
  """One config on a Ray worker (``ray.remote`` wraps it in :func:`run`): the serial launcher's
  :func:`run_config`, continuing the run when this is a retry. Returns ``{"name", "record" (None
  when stopped), "attempt", "resumed", "code", "interrupted"}``."""
  marker = os.path.join(attempts_dir, name)
  attempt = len(_attempts(marker)) + 1
  with open(marker, "a", encoding="utf-8") as f:
    f.write(f"{os.getpid()} {socket.gethostname()}\n")
  run_dir = os.path.join(workdir, name)
  resumed = set_resume(config, run_dir, resume or attempt > 1)
  if attempt > 1:
    print(f"{name}: attempt {attempt}, " + (f"resuming the run in {run_dir}" if resumed else
                                            "starting afresh (no earlier run to resume)"),
          flush=True)
  _prepare_worker()
  out = {"name": name, "record": None, "attempt": attempt, "resumed": resumed,
         "code": _package_dir(), "interrupted": ""}
  interrupts.install()
  try:
    out["record"] = run_config(name, config, workdir, preset_label, records_dir,
                               command=command)
  except interrupts.Interrupted as e:
    if e.signum != signal.SIGINT:
      raise  # SIGTERM: this worker is being stopped; Ray retries the task, which resumes
    # ray.cancel from the driver (its Ctrl-C or SIGTERM): the checkpoint is written; no retry.
    out["interrupted"] = e.where or "stopped"
  finally:
    interrupts.uninstall()
  return out


# ----------------------------------------------------------------------------- the driver

def _failure(error) -> str:
  """One line saying why a task failed: its exception, or the loss of its worker or node."""
  import ray
  cause = getattr(error, "cause", None) if isinstance(error, ray.exceptions.RayTaskError) else None
  if cause is not None:
    text = f"{type(cause).__name__}: {cause}"
  else:
    text = f"{type(error).__name__}: {error}"
  lines = [l.strip() for l in text.splitlines() if l.strip()]
  return lines[0] if lines else type(error).__name__


def _env(cpu_only: bool) -> Dict[str, str]:
  paths = [code_root()] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
  env = {"PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}
  if cpu_only:
    env["JAX_PLATFORMS"] = "cpu"
  return env


def task_options(name: str, config, cluster_gpus: bool, cpus_per_task: float = 1,
                 gpus_per_image_task: Optional[int] = None, max_retries: int = 2) -> Dict:
  """The Ray options of one config's task: its CPUs and GPUs, its retries, and its environment
  (``PYTHONPATH`` first this package's checkout; ``JAX_PLATFORMS=cpu`` for a task without a GPU
  where GPUs are in play)."""
  if gpus_per_image_task is None:
    gpus_per_image_task = 1 if cluster_gpus else 0
  gpus = gpus_per_image_task if is_image_config(config) else 0
  cpu_only = not gpus and (cluster_gpus or gpus_per_image_task > 0)
  return {"name": f"reproduce:{name}", "num_cpus": cpus_per_task, "num_gpus": gpus,
          "max_retries": max_retries, "retry_exceptions": True,
          "runtime_env": {"env_vars": _env(cpu_only)}}


def run(configs: Dict, workdir: str, preset_label: str, records_dir: Optional[str] = None,
        resume: bool = False, cpus_per_task: float = 1,
        gpus_per_image_task: Optional[int] = None, max_retries: int = 2,
        poll_s: float = 0.5, command: Optional[str] = None) -> Launch:
  """Runs every config of ``configs`` ({name: validated config}) as a Ray task (after
  :func:`init`) and waits for them; prints one line per config as it finishes. ``command``: the
  driver's command line, which each record keeps (default: this process's)."""
  ray = require_ray()
  workdir = os.path.abspath(workdir)
  records_dir = os.path.abspath(records_dir) if records_dir else None
  attempts_dir = os.path.join(workdir, ATTEMPTS, uuid.uuid4().hex[:12])
  os.makedirs(attempts_dir)
  cluster_gpus = bool(ray.cluster_resources().get("GPU"))
  task = ray.remote(run_task)
  refs, started = {}, {}
  for name, config in configs.items():
    options = task_options(name, config, cluster_gpus, cpus_per_task, gpus_per_image_task,
                           max_retries)
    refs[task.options(**options).remote(name, config, workdir, preset_label, records_dir,
                                        resume, attempts_dir,
                                        command or " ".join(sys.argv))] = name
    started[name] = time.perf_counter()

  def failed(name, why):
    """The driver's record of a task that did not end with one of its own."""
    lines = _attempts(os.path.join(attempts_dir, name))
    host = lines[-1].split(" ", 1)[-1] if lines else "no host"
    status = f"failed: {why} (attempts on Ray: {len(lines)})"
    write_record(workdir, name, preset_label, configs[name].num_seeds, status, [],
                 time.perf_counter() - started[name], 0.0, records_dir,
                 machine=f"Ray worker on {host}")
    print(f"== {name} ({preset_label}) == {status}", flush=True)
    return status

  statuses, pending, interrupted = {}, list(refs), None
  try:
    while pending:
      if interrupted is None and interrupts.requested() is not None:
        interrupted = interrupts.Interrupted(interrupts.requested())
        for ref in pending:
          ray.cancel(ref)  # each running task stops at its next safe point, with a checkpoint
      done, pending = ray.wait(pending, num_returns=1, timeout=poll_s)
      for ref in done:
        name = refs[ref]
        try:
          out = ray.get(ref)
        except ray.exceptions.RayError as e:
          if interrupted is None:
            statuses[name] = failed(name, _failure(e))
          continue  # else cancelled: unfinished
        if out["record"] is None:
          if interrupted is None:  # a SIGINT on the worker itself, not the driver's request
            statuses[name] = failed(name, f"stopped on its worker {out['interrupted']}")
          continue
        run = out["record"]["run"]
        statuses[name] = run["status"]
        notes = []
        if out["attempt"] > 1:
          notes.append(f"attempt {out['attempt']}" + (", resumed" if out["resumed"] else ""))
        if out["code"] != _package_dir():
          notes.append(f"the worker imported simplicity_bias from {out['code']}")
        print(f"== {name} ({preset_label}) == {run['status']} in {run['wall_s'] / 60:.1f} min"
              + (f" ({'; '.join(notes)})" if notes else ""), flush=True)
  finally:
    _remove_attempts(workdir, attempts_dir)
  unfinished = [n for n in configs if n not in statuses]
  return Launch({n: statuses[n] for n in configs if n in statuses}, unfinished, interrupted)


def _remove_attempts(workdir: str, attempts_dir: str) -> None:
  import shutil
  shutil.rmtree(attempts_dir, ignore_errors=True)
  try:
    os.rmdir(os.path.join(workdir, ATTEMPTS))  # only when no other launch uses it
  except OSError:
    pass
