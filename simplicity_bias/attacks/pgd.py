"""Untargeted PGD attacks, accuracy under attack, and where a perturbation spends its budget.

``predict(params, x) -> logits [n, num_classes]`` is a model closed over its apply function (in
eval mode; BatchNorm statistics, if any, live inside ``params``). Every function is pure,
jit-able and vmappable over stacked member params and over a traced ``eps``: the step loop is a
``lax.scan``, restarts are a ``lax.scan`` over keys, and nothing branches in Python on a traced
value. ``norm``, ``num_steps``, ``restarts``, ``random_start``, ``keep_best`` and ``unroll`` are
static.

Per-example input gradients come from one ``jax.grad`` of the batch-summed loss: examples do
not interact in ``predict`` (eval mode), so the gradient of the sum w.r.t. ``x_i`` is the gradient
of example ``i``'s own loss, at the cost of one backward pass for the whole batch.

``box=(lo, hi)`` keeps ``x + delta`` inside the input domain and assumes ``x`` itself lies in it.
Clipping ``x + delta`` to a box containing ``x`` moves every coordinate of ``delta`` towards 0, so
it never leaves the l2 or linf ball; the ball projection is nevertheless applied once more after
the clip, which is a no-op in exact arithmetic but keeps ``||delta|| <= eps`` (to rounding) even
for an ``x`` outside the box, and makes ``eps = 0`` return exactly 0 in every case.
"""

import math

import jax
import jax.numpy as jnp
import optax
from jax.scipy.special import ndtr

NORMS = ("linf", "l2")

# Zero-norm guard: large enough that 1 / _TINY is finite in float32, small enough never to bind
# on a real gradient.
_TINY = 1e-12


def per_example_loss(predict, params, x, y):
  """Softmax cross-entropy of every example ([n]); the quantity PGD maximises."""
  return optax.softmax_cross_entropy_with_integer_labels(predict(params, x), y)


def _per_example_norm(v, norm):
  """l2 or linf norm of each row of ``v`` over all its non-batch axes ([n])."""
  axes = tuple(range(1, v.ndim))
  if norm == "l2":
    return jnp.sqrt(jnp.sum(jnp.square(v), axis=axes))
  return jnp.max(jnp.abs(v), axis=axes)


def _rows(s, like):
  """Broadcasts a per-example scalar [n] against ``like`` [n, ...]."""
  return jnp.reshape(s, s.shape + (1,) * (like.ndim - 1))


def _check_norm(norm):
  if norm not in NORMS:
    raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")


def project(delta, eps, norm):
  """Projects each example's perturbation onto the ``norm`` ball of radius ``eps``.

  The l2 projection rescales by ``min(1, eps / ||delta||)``; with ``eps = 0`` the factor is 0 and
  the result is exactly 0 (no division of 0 by 0 thanks to the norm guard).
  """
  _check_norm(norm)
  if norm == "linf":
    return jnp.clip(delta, -eps, eps)
  scale = jnp.minimum(1.0, eps / jnp.maximum(_per_example_norm(delta, "l2"), _TINY))
  return delta * _rows(scale, delta).astype(delta.dtype)


def ascent_direction(grad, norm):
  """Steepest-ascent direction of unit ``norm``-length: ``sign(g)`` (linf), ``g / ||g||_2`` (l2).

  A zero gradient gives a zero step rather than a NaN.
  """
  _check_norm(norm)
  if norm == "linf":
    return jnp.sign(grad)
  return grad / _rows(jnp.maximum(_per_example_norm(grad, "l2"), _TINY), grad).astype(grad.dtype)


def random_in_ball(key, shape, eps, norm, dtype=jnp.float32):
  """Per-example uniform draw from the ``norm`` ball of radius ``eps`` (shape [n, ...]).

  linf: each coordinate uniform in [-eps, eps]. l2: a Gaussian direction normalised to unit
  length times radius ``eps * U^(1/D)`` with ``D`` the per-example dimension, which is uniform
  in volume (radius density proportional to r^(D-1)). ``U = Phi(g)`` of one extra Gaussian
  coordinate ``g``, so a start is one PRNG call with no key split (each PRNG call adds compile
  time).
  """
  _check_norm(norm)
  if norm == "linf":
    return eps * jax.random.uniform(key, shape, dtype, minval=-1.0, maxval=1.0)
  n = shape[0]
  dim = math.prod(shape[1:])
  draws = jax.random.normal(key, (n, dim + 1), dtype)
  direction = draws[:, :dim]
  direction = direction / jnp.maximum(jnp.linalg.norm(direction, axis=1, keepdims=True), _TINY)
  radius = eps * ndtr(draws[:, dim]) ** (1.0 / dim)
  return (direction * radius[:, None]).reshape(shape)


def _constrain(x, delta, eps, norm, box):
  """Ball projection, box clip of ``x + delta``, ball projection again (see module docstring)."""
  delta = project(delta, eps, norm)
  if box is not None:
    lo, hi = box
    delta = project(jnp.clip(x + delta, lo, hi) - x, eps, norm)
  return delta


def default_step_size(eps, num_steps, factor=2.5):
  """Madry et al.'s rule ``factor * eps / num_steps``: the steps add up to 1.25 ball diameters,
  so the iterate can reach any point of the ball from any start."""
  return factor * eps / num_steps


def pgd_run(predict, params, x, y, key, *, norm, eps, step_size=None, num_steps, random_start=True,
            box=None, keep_best=True, unroll=1):
  """One PGD run from one start; returns ``(delta, per_example_loss)``.

  This is a single restart of :func:`pgd` (which splits its key and calls this once per restart);
  it is public so a caller can inspect individual restarts.

  Args:
    predict: ``predict(params, x) -> logits``.
    params: any pytree.
    x: inputs [n, ...]; y: integer labels [n].
    key: PRNG key for the random start (unused when ``random_start=False``).
    norm: ``'linf'`` or ``'l2'`` (static).
    eps: ball radius; may be traced.
    step_size: defaults to :func:`default_step_size` (2.5 * eps / num_steps); may be traced.
    num_steps: number of gradient steps (static).
    random_start: start at a uniform draw from the ball (then clipped to the box) instead of
      at 0.
    box: ``(lo, hi)`` or None; ``x + delta`` is kept in it (``x`` must lie in it).
    keep_best: return, per example, the iterate with the highest loss seen over the run (start
      and final iterate included) instead of the final iterate. PGD's last iterate can
      overshoot on a non-concave loss; the best one never has a lower loss than the start. It
      costs nothing: every iterate's loss comes with its gradient.
    unroll: passed to the step ``lax.scan`` (static); ``True`` unrolls the steps into straight-line
      code. XLA:CPU runs convolutions inside a while loop several times slower than outside one
      (benchmarks/RESULTS.md), so an image model on a CPU is attacked faster unrolled, at the
      cost of compiling one copy of the model's gradient per step.

  The final iterate is scored by one more gradient evaluation whose step is dropped
  (``num_steps + 1`` in all) rather than by a separate forward pass, so the compiled attack holds
  one copy of the model instead of two; for an image model that copy dominates compile time.

  Returns:
    ``delta`` (shape and dtype of ``x``, with ``||delta_i|| <= eps``) and its loss [n].
  """
  _check_norm(norm)
  if step_size is None:
    step_size = default_step_size(eps, num_steps)
  if random_start:
    delta = random_in_ball(key, x.shape, eps, norm, x.dtype)
  else:
    delta = jnp.zeros_like(x)
  delta = _constrain(x, delta, eps, norm, box)

  def loss_sum(d):
    loss = per_example_loss(predict, params, x + d, y)
    return jnp.sum(loss), loss

  grad_fn = jax.grad(loss_sum, has_aux=True)

  def step(carry, _):
    delta, best_delta, best_loss = carry
    grad, loss = grad_fn(delta)
    better = (loss > best_loss) | (not keep_best)
    best_delta = jnp.where(_rows(better, delta), delta, best_delta)
    best_loss = jnp.where(better, loss, best_loss)
    delta = delta + step_size * ascent_direction(grad, norm)
    return (_constrain(x, delta, eps, norm, box), best_delta, best_loss), None

  loss_dtype = jax.eval_shape(lambda d: loss_sum(d)[1], delta).dtype
  init_loss = jnp.full(y.shape, -jnp.inf, loss_dtype)
  # num_steps + 1 evaluations: the last one only scores the final iterate (its step is dropped).
  (_, best_delta, best_loss), _ = jax.lax.scan(
      step, (delta, delta, init_loss), None, length=num_steps + 1, unroll=unroll)
  return best_delta, best_loss


def pgd(predict, params, x, y, key, *, norm, eps, step_size=None, num_steps, restarts=1,
        random_start=True, box=None, keep_best=True, unroll=1):
  """Untargeted PGD maximising cross-entropy within an ``eps`` ball; returns ``delta``.

  Restart ``r`` is :func:`pgd_run` with key ``jax.random.split(key, restarts)[r]``. Per example
  the kept delta is the candidate with the highest loss among ``delta = 0`` and every restart's
  delta (earlier candidates win ties, so ``delta = 0`` wins when nothing beats the clean loss).
  Counting ``delta = 0`` as a candidate makes the attacked loss never lower than the clean loss,
  even when a random start lands somewhere better than the optimum reached from it; for binary
  labels the highest loss is the lowest signed margin, so any misclassifying candidate is
  preferred to every correctly classified one.

  Restarts run one after another (a ``lax.scan`` keeping the running per-example best), so memory
  does not grow with ``restarts``. See :func:`pgd_run` for the other arguments.
  """
  _check_norm(norm)
  clean_loss = per_example_loss(predict, params, x, y)

  def restart(carry, k):
    best_delta, best_loss = carry
    delta, loss = pgd_run(predict, params, x, y, k, norm=norm, eps=eps, step_size=step_size,
                          num_steps=num_steps, random_start=random_start, box=box,
                          keep_best=keep_best, unroll=unroll)
    better = loss > best_loss
    return (jnp.where(_rows(better, delta), delta, best_delta),
            jnp.where(better, loss, best_loss)), None

  (delta, _), _ = jax.lax.scan(restart, (jnp.zeros_like(x), clean_loss),
                               jax.random.split(key, restarts), unroll=unroll)
  return delta


def robust_accuracy(predict, params, x, y, key, *, eps_list, norm, num_steps=20,
                    step_size_factor=2.5, restarts=1, random_start=True, box=None,
                    keep_best=True):
  """Accuracy under :func:`pgd` for each radius in ``eps_list``; returns [len(eps_list)].

  The step size of radius ``eps`` is ``step_size_factor * eps / num_steps`` (Madry et al. use
  2.5; the other arguments are as in :func:`pgd`). Every radius uses the same ``key`` (common
  random numbers: the curve over ``eps`` is not jittered by different random starts). Radii run
  one after another (``lax.map``) so memory is that of one attack; ``eps = 0`` gives exactly the
  clean accuracy. ``x`` is one batch: average over batches (weighted by size) for a large test
  set.
  """
  eps_arr = jnp.asarray(eps_list, dtype=x.dtype)

  def one(eps):
    delta = pgd(predict, params, x, y, key, norm=norm, eps=eps,
                step_size=step_size_factor * eps / num_steps, num_steps=num_steps,
                restarts=restarts, random_start=random_start, box=box, keep_best=keep_best)
    return jnp.mean(jnp.argmax(predict(params, x + delta), axis=-1) == y)

  return jax.lax.map(one, eps_arr)


def perturbation_share(delta, rotation=None, coords=None, rows=None):
  """Share of each perturbation's squared l2 norm that lies on a set of coordinates.

  It says where the attack spends its budget: on the simple (S) or complex (S^c) latent
  coordinates of a synthetic dataset, or on the MNIST or CIFAR block of an MNIST-CIFAR image.

  Args:
    delta: perturbations [n, ...].
    rotation: for vector data ``x = z @ rotation`` ([d, d], orthogonal), the latent perturbation is
      ``delta @ rotation.T``; None to measure the coordinates of ``delta`` as they are.
    coords: latent coordinate indices (or a [d] bool mask) of the set S, indexing the flattened
      per-example perturbation (after un-rotation).
    rows: ``(start, stop)`` image rows (axis 1 of ``delta`` [n, H, W, C]) forming S, e.g.
      ``(0, 32)`` for the MNIST block of a 64x32x3 MNIST-CIFAR image. Exactly one of ``coords``
      and ``rows`` must be given.

  Returns:
    ``(mean_share, share)``: ``share[i] = ||delta_i,S||^2 / ||delta_i||^2`` ([n], NaN where
    ``delta_i = 0``, e.g. at ``eps = 0``), and its mean over the non-zero perturbations.
  """
  if (coords is None) == (rows is None):
    raise ValueError("give exactly one of coords (vector coordinates) and rows (image rows)")
  n = delta.shape[0]
  if rows is not None:
    if rotation is not None:
      raise ValueError("rotation applies to vector data (coords), not to image rows")
    start, stop = rows
    on = jnp.sum(jnp.square(delta[:, start:stop]).reshape(n, -1), axis=1)
    total = jnp.sum(jnp.square(delta).reshape(n, -1), axis=1)
  else:
    flat = delta.reshape(n, -1)
    if rotation is not None:
      flat = flat @ rotation.T
    coords = jnp.asarray(coords)
    if coords.dtype == jnp.bool_:
      mask = coords
    else:
      mask = jnp.zeros(flat.shape[1], bool).at[coords].set(True)
    on = jnp.sum(jnp.where(mask[None, :], jnp.square(flat), 0.0), axis=1)
    total = jnp.sum(jnp.square(flat), axis=1)
  share = jnp.where(total > 0, on / jnp.where(total > 0, total, 1.0), jnp.nan)
  return jnp.nanmean(share), share
