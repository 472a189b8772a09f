"""Adversarial training (Madry et al., 2018) as a training objective: ``objective.name='adversarial'``.

Every batch is replaced by its PGD perturbation (:func:`simplicity_bias.attacks.pgd.pgd`) inside
the same compiled training step, through the objective's ``transform``: the attack is a
``lax.scan`` over its steps inside the trainer's scanned step, so adversarial training stays one
program per cell, with all members vmapped. No gradient flows through the attack (the trainer
stops it); the loss is the cross-entropy on the perturbed batch. With ``select_on_transform`` the
best-validation checkpoint (``train.select='best_val'``) is the one with the best *adversarial*
validation accuracy, each check attacking the validation set with the same attack.

Fields of ``config.objective`` (:func:`objective_config` gives every one with its default):

* ``norm`` — ``'linf'`` or ``'l2'``;
* ``eps`` — the radius. A member whose ``aux`` (the per-member inputs handed to
  ``pipeline.run_cell(..., aux=)``) holds ``{"eps": value}`` uses its own radius instead, so an
  ε grid trains as the grid points of one program (``layout_of(config, num_points=len(grid))``);
* ``step_size`` — the PGD step at ``eps``; a member with its own ε scales it by ε / ``eps`` (the
  steps keep their share of the radius). ``0`` = Madry's rule ``2.5 ε / num_steps``;
* ``num_steps``, ``restarts``, ``random_start`` — the attack's steps, random restarts (the kept
  perturbation is the worst of them per example) and whether it starts inside the ball;
* ``box`` — ``(lo, hi)`` input domain the perturbed input is clipped to (``(0, 1)`` for images),
  or ``()`` for none (synthetic data are not boxed);
* ``bn_mode`` — the BatchNorm mode of the model being attacked (see below);
* ``keep_best`` — per example, keep the highest-loss PGD iterate rather than the last (our
  choice: never weaker than the last iterate, and free; see ``pgd_run``);
* ``unroll`` — unroll the attack's step scan into straight-line code (``True`` on a CPU for
  convolutional models: XLA:CPU runs convolutions in a while loop several times slower).

BatchNorm during the attack (``bn_mode``) is an explicit choice:

* ``'eval'`` (default): the attack sees the model with its running statistics
  (``forward(..., train=False)``), i.e. the function that is evaluated and attacked at test time.
  Examples do not interact, so the input gradient of the batch-summed loss is each example's own
  gradient, and the attack does not depend on which examples share its batch. The running
  statistics lag the batch statistics early in training, so the attacked function differs a little
  from the one the update then trains.
* ``'train'``: batch statistics, as many PyTorch implementations run it (model left in
  ``train()`` mode). The running statistics are NOT updated by the attack's forward passes, only
  by the training forward pass on the perturbed batch; dropout, if any, uses one mask for the whole
  attack.

Models without BatchNorm or dropout (the FCNs) give the same result in both modes.

Randomness: the attack's random starts come from the trainer's per-update transform key
(``members.counter_key(member key, Step.TRANSFORM, update)``, see ``train/loop.py``), so a run depends only on
(config, seed); the validation attack of each check has its own key.
"""

from typing import Any, Dict

import ml_collections

from simplicity_bias.attacks.pgd import NORMS, default_step_size, pgd
from simplicity_bias.members import Transform, subkey
from simplicity_bias.train import objectives
from simplicity_bias.validation import ConfigError, check_choice

BN_MODES = ("eval", "train")


def objective_config(**overrides) -> ml_collections.ConfigDict:
  """``config.objective`` for adversarial training: every field at its default, then overrides."""
  c = ml_collections.ConfigDict({
      "name": "adversarial", "norm": "linf", "eps": 0.3, "step_size": 0.0, "num_steps": 7,
      "restarts": 1, "random_start": True, "box": (), "bn_mode": "eval", "keep_best": True,
      "unroll": False})
  for k, v in overrides.items():
    if k not in c:
      raise ConfigError(f"objective.{k} is not a field of the adversarial objective; valid: "
                        f"{', '.join(sorted(c))}.")
    c[k] = v
  return c


def settings(objective_config_) -> Dict[str, Any]:
  """The validated attack settings of an ``objective`` section (defaults for missing fields)."""
  defaults = objective_config()
  get = lambda k: objective_config_.get(k, defaults[k])
  s = {k: get(k) for k in defaults if k != "name"}
  check_choice("objective.norm", s["norm"], NORMS)
  check_choice("objective.bn_mode", s["bn_mode"], BN_MODES)
  if not s["eps"] >= 0:
    raise ConfigError(f"objective.eps={s['eps']} must be >= 0.")
  if not s["step_size"] >= 0:
    raise ConfigError(f"objective.step_size={s['step_size']} must be >= 0 (0 = 2.5 eps / "
                      "num_steps).")
  if s["step_size"] > 0 and s["eps"] == 0:
    raise ConfigError("objective.step_size is given at objective.eps, which is 0; set eps > 0 "
                      "or step_size=0 (2.5 eps / num_steps).")
  if int(s["num_steps"]) < 1 or int(s["restarts"]) < 1:
    raise ConfigError(f"objective.num_steps={s['num_steps']} and objective.restarts="
                      f"{s['restarts']} must be >= 1.")
  box = tuple(s["box"] or ())
  if box and (len(box) != 2 or not box[0] < box[1]):
    raise ConfigError(f"objective.box={s['box']!r} must be (lo, hi) with lo < hi, or () for none.")
  s.update(box=tuple(float(b) for b in box) or None, num_steps=int(s["num_steps"]),
           restarts=int(s["restarts"]), eps=float(s["eps"]), step_size=float(s["step_size"]),
           random_start=bool(s["random_start"]), keep_best=bool(s["keep_best"]),
           unroll=bool(s["unroll"]))
  return s


def member_eps(s: Dict[str, Any], aux):
  """The member's radius: ``aux["eps"]`` when the member has one, else ``objective.eps``."""
  if isinstance(aux, dict) and "eps" in aux:
    return aux["eps"]
  return s["eps"]


def step_size_at(s: Dict[str, Any], eps):
  """The PGD step at radius ``eps`` (possibly traced): ``step_size`` scaled by ε / ``objective.eps``,
  or Madry's ``2.5 ε / num_steps`` when ``step_size`` is 0."""
  if s["step_size"] == 0:
    return default_step_size(eps, s["num_steps"])
  return s["step_size"] * (eps / s["eps"])


def attack_fn(s: Dict[str, Any]):
  """``transform(inputs) -> x + delta`` (see module doc; ``inputs``: ``objectives.StepInputs``)."""

  def transform(inputs):
    forward, params, model_state, x, y, key, aux = inputs[:7]
    eps = member_eps(s, aux)
    if s["bn_mode"] == "eval":
      predict = lambda p, xx: forward(p, model_state, xx, train=False)[0]
    else:
      k_drop = subkey(key, Transform.DROPOUT)
      predict = lambda p, xx: forward(p, model_state, xx, train=True, key=k_drop)[0]
    delta = pgd(predict, params, x, y, key, norm=s["norm"], eps=eps,
                step_size=step_size_at(s, eps), num_steps=s["num_steps"],
                restarts=s["restarts"], random_start=s["random_start"], box=s["box"],
                keep_best=s["keep_best"], unroll=s["unroll"])
    return x + delta

  return transform


@objectives.register("adversarial")
def adversarial(objective_config_, data_info=None) -> objectives.Objective:
  """Cross-entropy on the PGD perturbation of each batch; selection on adversarial validation."""
  del data_info
  if isinstance(objective_config_, str):
    objective_config_ = objective_config()
  return objectives.Objective("adversarial", transform=attack_fn(settings(objective_config_)),
                              select_on_transform=True)
