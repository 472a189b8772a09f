"""Robustness evaluators: accuracy under PGD at several radii, universal adversarial perturbations
(UAPs), and where a perturbation spends its l2 budget (on S or on S^c).

* ``robust`` — ``robust_acc`` [len(eval.robust_eps)]: accuracy under untargeted PGD
  (``eval.robust_norm``, ``eval.robust_steps`` steps of ``2.5 ε / steps``, ``eval.robust_restarts``
  restarts, each from a random start in the ball unless ``eval.robust_random_start`` is False) at every radius of ``eval.robust_eps``, plus one scalar ``robust_acc_<ε>`` per
  radius for the results table; with ``aux = {"eps": ε}`` (each model's own radius, e.g. the
  one it was adversarially trained at) also ``robust_acc_at_eps``.
* ``uap`` — per-example l2 PGD at radius ``eval.attack_eps`` (``eval.attack_steps`` steps of
  ``2.5 ε / steps``, from 0 unless ``eval.attack_random_start``: a random start spreads budget
  over every coordinate, which would blur the share below) on the whole test set (``pgd_acc``), the share of each perturbation's squared l2 norm on S (``pgd_share_s``), and two
  label-signed UAPs of l2 norm ``eval.uap_eps`` (``x' = x + s(y) u``): SVD-UAP (top right singular
  vector of the per-example perturbations of the fitting split) and AS-UAP (projected gradient
  ascent on one shared ``u`` over the fitting split, or its first ``eval.attack_batch`` examples
  when that is set, ``eval.as_uap_steps`` full-batch steps). The fitting
  split is the first ``eval.uap_fit_fraction`` of the test set, the held-out split the rest; each
  UAP's accuracy is reported on the held-out split (``svd_uap_acc``, ``as_uap_acc``) AND on the
  split it was fitted on (``*_fit_acc``), with its share on S (``*_share_s``) and the UAP itself
  (``svd_uap``, ``as_uap``; for vector data also in latent coordinates, ``*_latent``).
  With ``eval.range_attack_fraction`` > 0 it also runs the original notebook's per-example
  attack: l2 PGD from 0 at radius ``range_attack_fraction`` x the data range R = max(x) − min(x)
  (over every entry of the attacked inputs), ``eval.range_attack_steps`` steps of
  ``range_attack_step_fraction`` x R, with ``x + delta`` kept in [min(x), max(x)]; it reports
  ``range_pgd_acc``, ``range_pgd_share_s`` (squared-norm share, as above) and
  ``range_pgd_norm_share_s``, the notebook's "fraction of budget": the mean over examples of
  ``||delta_S|| / ||delta||`` (a norm ratio, the square root of the per-example share).

The share on S un-rotates vector perturbations (``delta @ rotation.T``) and measures the latent
coordinates ``info.simple``; for images it measures the rows ``info.simple`` (the MNIST block of
MNIST-CIFAR). Images are attacked inside the box [0, 1]; vectors are not boxed.

Keys: the attacks' random starts come from the model's EVAL key folded with
``Purpose.ATTACK`` (per-example PGD, robust accuracy) and ``Purpose.UAP`` (AS-UAP), so turning
these evaluators on or off leaves every other evaluator's numbers unchanged (``sb`` splits the
same EVAL key, which a folded-in tag never reproduces).

Large test sets are attacked in chunks of ``eval.attack_batch`` examples (0 = all at once), one
after another, so memory is that of one chunk; ``eval.attack_examples`` (0 = all) limits both
evaluators to the first examples of the test set (the UAP's fitting and held-out splits are then
split from those).
"""

import jax
import jax.numpy as jnp

from simplicity_bias.attacks.pgd import perturbation_share, pgd
from simplicity_bias.attacks.uap import as_uap, svd_uap, uap_accuracy
from simplicity_bias.evaluators import register
from simplicity_bias.members import Purpose, subkey
from simplicity_bias.metrics.classification import accuracy

IMAGE_BOX = (0.0, 1.0)

# eval.<field> defaults (a config lists the ones it changes).
DEFAULTS = {
    "robust_eps": (0.0, 0.1, 0.2, 0.3), "robust_norm": "linf", "robust_steps": 20,
    "robust_restarts": 1, "attack_eps": 1.0, "attack_steps": 20, "uap_eps": 1.0,
    "uap_fit_fraction": 0.5, "as_uap_steps": 50, "attack_batch": 0, "unroll": False,
    "attack_random_start": False, "attack_examples": 0, "robust_random_start": True,
    "range_attack_fraction": 0.0, "range_attack_step_fraction": 0.05, "range_attack_steps": 20,
    "show_examples": 8, "example_norm": "linf", "example_eps": 0.3, "example_steps": 20,
}


def option(options, name):
  value = options.get(name, DEFAULTS[name])
  return DEFAULTS[name] if value is None else value


def eps_name(eps: float) -> str:
  """The metric suffix of a radius: ``robust_acc_0.25``."""
  return f"{float(eps):g}"


def attacked(inputs):
  """The test examples the attacks run on: the first ``eval.attack_examples`` (0 = all), so an
  expensive image attack can run on part of a test set that ``sb`` evaluates whole."""
  n = int(option(inputs.options, "attack_examples"))
  if not n or n >= inputs.x.shape[0]:
    return inputs.x, inputs.y
  return inputs.x[:n], inputs.y[:n]


def box_of(info):
  return IMAGE_BOX if info.kind == "image" else None


def share_on_s(delta, inputs):
  """(mean share, per-example share) of ``delta``'s squared l2 norm on S (see module doc)."""
  info = inputs.info
  if info.kind == "image":
    return perturbation_share(delta, rows=tuple(info.simple))
  return perturbation_share(delta, rotation=inputs.rotation, coords=jnp.asarray(info.simple))


def _chunks(fn, batch: int, *arrays):
  """``fn(*chunk)`` over consecutive chunks of ``batch`` rows, concatenated (``batch`` 0: one
  call). The last chunk is padded with copies of the first rows and the padding dropped."""
  n = arrays[0].shape[0]
  if not batch or batch >= n:
    return fn(*arrays)
  num = -(-n // batch)
  pad = num * batch - n
  stacked = [jnp.concatenate([a, a[:pad]]).reshape((num, batch) + a.shape[1:]) for a in arrays]
  out = jax.lax.map(lambda xs: fn(*xs), tuple(stacked))
  return jax.tree_util.tree_map(lambda o: o.reshape((num * batch,) + o.shape[2:])[:n], out)


@register("attack_examples", kinds=("image",))
def attack_examples(inputs):
  """For figures: the first ``eval.show_examples`` test images, their PGD perturbation against
  this model (``eval.example_norm``, ``example_eps``, ``example_steps``; from the model's ATTACK
  key, inputs kept in [0, 1]) and the model's predictions on both."""
  o = inputs.options
  show = int(option(o, "show_examples"))
  x, y = inputs.x[:show], inputs.y[:show]
  predict = lambda _, xx: inputs.logits_fn(xx)
  delta = pgd(predict, None, x, y, subkey(inputs.key, Purpose.ATTACK),
              norm=option(o, "example_norm"), eps=float(option(o, "example_eps")),
              num_steps=int(option(o, "example_steps")), box=IMAGE_BOX)
  pred = lambda xx: jnp.argmax(inputs.logits_fn(xx), -1)
  return {"attack_examples": {"x": x, "y": y, "delta": delta, "pred": pred(x),
                              "pred_adv": pred(x + delta)}}


@register("robust")
def robust(inputs):
  """Accuracy under PGD at every radius of ``eval.robust_eps``, and at the model's own radius
  when its ``aux`` holds one (see module doc)."""
  o = inputs.options
  eps_list = [float(e) for e in option(o, "robust_eps")]
  own = isinstance(inputs.aux, dict) and "eps" in inputs.aux
  radii = jnp.asarray(eps_list, inputs.x.dtype)
  if own:
    radii = jnp.concatenate([radii, jnp.reshape(inputs.aux["eps"], (1,)).astype(radii.dtype)])
  if radii.shape[0] == 0:
    return {}
  key = subkey(inputs.key, Purpose.ATTACK)
  predict = lambda _, xx: inputs.logits_fn(xx)
  steps = int(option(o, "robust_steps"))

  def correct(x, y):
    """[n, radii]: whether each example is still classified correctly under PGD at each radius
    (radii one after another, the same random starts for every radius)."""

    def one(eps):
      delta = pgd(predict, None, x, y, key, norm=option(o, "robust_norm"), eps=eps,
                  step_size=2.5 * eps / steps, num_steps=steps,
                  restarts=int(option(o, "robust_restarts")),
                  random_start=bool(option(o, "robust_random_start")), box=box_of(inputs.info),
                  unroll=bool(option(o, "unroll")))
      return jnp.argmax(predict(None, x + delta), axis=-1) == y

    return jax.lax.map(one, radii).T

  acc = jnp.mean(_chunks(correct, int(option(o, "attack_batch")), *attacked(inputs)), axis=0)
  out = {}
  if eps_list:
    out["robust_acc"] = acc[:len(eps_list)]
    for i, e in enumerate(eps_list):
      out[f"robust_acc_{eps_name(e)}"] = acc[i]
  if own:
    out["robust_acc_at_eps"] = acc[-1]
  return out


@register("uap")
def uap(inputs):
  """Per-example l2 PGD, SVD-UAP and AS-UAP with their accuracy and share on S (module doc)."""
  o, info = inputs.options, inputs.info
  x, y = attacked(inputs)
  predict = lambda _, xx: inputs.logits_fn(xx)
  box = box_of(info)
  attack_eps = float(option(o, "attack_eps"))
  uap_eps = float(option(o, "uap_eps"))
  steps = int(option(o, "attack_steps"))
  k_attack = subkey(inputs.key, Purpose.ATTACK)
  k_uap = subkey(inputs.key, Purpose.UAP)

  def attack(xx, yy):
    return pgd(predict, None, xx, yy, k_attack, norm="l2", eps=attack_eps, num_steps=steps,
               random_start=bool(option(o, "attack_random_start")), box=box,
               unroll=bool(option(o, "unroll")))

  delta = _chunks(attack, int(option(o, "attack_batch")), x, y)
  out = {"pgd_acc": accuracy(inputs.logits_fn(x + delta), y)}
  out["pgd_share_s"], _ = share_on_s(delta, inputs)
  fraction = float(option(o, "range_attack_fraction"))
  if fraction > 0:
    lo, hi = jnp.min(x), jnp.max(x)
    span = hi - lo
    range_steps = int(option(o, "range_attack_steps"))

    def range_attack(xx, yy):
      return pgd(predict, None, xx, yy, k_attack, norm="l2", eps=fraction * span,
                 step_size=float(option(o, "range_attack_step_fraction")) * span,
                 num_steps=range_steps, random_start=False, box=(lo, hi),
                 unroll=bool(option(o, "unroll")))

    range_delta = _chunks(range_attack, int(option(o, "attack_batch")), x, y)
    out["range_pgd_acc"] = accuracy(inputs.logits_fn(x + range_delta), y)
    out["range_pgd_share_s"], share = share_on_s(range_delta, inputs)
    out["range_pgd_norm_share_s"] = jnp.nanmean(jnp.sqrt(share))
  n_fit = max(1, min(x.shape[0] - 1, int(round(float(option(o, "uap_fit_fraction"))
                                               * x.shape[0]))))
  fit = (x[:n_fit], y[:n_fit])
  held = (x[n_fit:], y[n_fit:])
  batch = int(option(o, "attack_batch"))
  as_fit = fit if not batch else (fit[0][:batch], fit[1][:batch])
  uaps = {"svd_uap": svd_uap(delta[:n_fit], y[:n_fit], uap_eps),
          "as_uap": as_uap(predict, None, *as_fit, k_uap, eps=uap_eps,
                           num_steps=int(option(o, "as_uap_steps")), norm="l2", box=box)}
  for name, u in uaps.items():
    out[name] = u
    out[f"{name}_acc"] = uap_accuracy(predict, None, *held, u, box)
    out[f"{name}_fit_acc"] = uap_accuracy(predict, None, *fit, u, box)
    out[f"{name}_share_s"], _ = share_on_s(u[None], inputs)
    if info.kind == "vector":
      out[f"{name}_latent"] = u @ inputs.rotation.T
  return out
