"""Standard and adversarially trained models of one architecture, as cells and members.

The attribution experiments compare a standard model with models adversarially trained at a few
radii per norm (``config.sweep.linf_eps``, ``config.sweep.l2_eps``; ``config.sweep.standard``).
The norm changes the attack's code, so each norm is a cell; the radii are traced, so the radii
of one norm are the grid points of that cell's program (``aux = {"eps": ...}`` per member, read
by the ``adversarial`` objective of ``simplicity_bias.attacks.training``), seeds inside them.
The attack's other settings come from ``config.adversarial`` (that objective's fields).
"""

import dataclasses
from typing import List, Optional, Tuple

import jax.numpy as jnp
import numpy as np

from simplicity_bias.validation import ConfigError

NORMS = ("linf", "l2")


@dataclasses.dataclass(frozen=True)
class Training:
  """``kind`` 'standard' (ERM, no radii) or a norm with its radii (one grid point each)."""
  kind: str
  eps: Tuple[float, ...] = ()

  @property
  def num_points(self) -> int:
    return max(len(self.eps), 1)

  def point_names(self) -> List[str]:
    if self.kind == "standard":
      return ["standard"]
    return [f"{self.kind} {eps_name(self.kind, e)}" for e in self.eps]


def eps_name(norm: str, eps: float) -> str:
  """ε as written in papers: 8/255 for an l-inf radius on the 8-bit grid that has no short
  decimal form, else the number (.1, not 51/255 for .2)."""
  short = f"{eps:g}"
  if norm == "linf" and len(short) > 5 and abs(eps * 255 - round(eps * 255)) < 1e-6:
    return f"{round(eps * 255)}/255"
  return short


def _radii(config, norm) -> Tuple[float, ...]:
  values = config.sweep[f"{norm}_eps"]
  values = (values,) if isinstance(values, (int, float)) else tuple(values or ())
  if any(isinstance(v, bool) or not v > 0 for v in values):
    raise ConfigError(f"sweep.{norm}_eps={values!r} must hold radii > 0 (or be empty).")
  if len(set(values)) != len(values):
    raise ConfigError(f"sweep.{norm}_eps={values!r} repeats a radius; list each once.")
  return tuple(float(v) for v in values)


def trainings(config) -> List[Training]:
  """The standard model (when ``sweep.standard``) and one robust cell per norm with radii."""
  out = [Training("standard")] if config.sweep.standard else []
  out += [Training(norm, _radii(config, norm)) for norm in NORMS if _radii(config, norm)]
  if not out:
    raise ConfigError("nothing to train: sweep.standard is False and sweep.linf_eps / "
                      "sweep.l2_eps are empty.")
  return out


def overrides(config, training: Training) -> dict:
  """Config overrides of a training's cell: the adversarial objective at the largest radius
  (the radius its step size is given at; every member then gets its own through ``aux``)."""
  if training.kind == "standard":
    return {}
  from simplicity_bias.attacks.training import objective_config
  fields = {k: v for k, v in config.adversarial.items() if k != "name"}
  fields.update(norm=training.kind, eps=max(training.eps))
  return {"objective": objective_config(**fields)}


def member_aux(training: Training, num_seeds: int) -> Optional[dict]:
  """``{"eps": [members]}`` (point-major, seeds inside) for a robust cell, None otherwise."""
  if training.kind == "standard":
    return None
  return {"eps": jnp.asarray(np.repeat(np.asarray(training.eps, np.float32), num_seeds))}
