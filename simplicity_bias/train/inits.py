"""Named initialisations: how a cell's members start, beyond the model's random init (a
:class:`~simplicity_bias.pipeline.Cell` names one in ``init``).

An init is ``fn(trainer, states, *, layout, points, earlier, **options) -> states``: ``states``
are the members' randomly initialised states, ``points`` the cell's training points and
``earlier`` the outcomes of the plan's earlier cells by label (an option such as ``from`` names
the one it reads). :func:`register` adds one; :func:`apply` runs one by name.
"""


import jax
import jax.numpy as jnp

from simplicity_bias.registries import Registry
from simplicity_bias.validation import ConfigError

_INITS = Registry("init")
register = _INITS.register   # decorator: adds a init under ``name``


def names():
  return sorted(_INITS)


def apply(init, trainer, states, *, layout, points, earlier):
  name, options = init
  if name not in _INITS:
    raise ConfigError(f"init {name!r} is unknown; valid: {', '.join(names())}.")
  options = dict(options)
  source = options.pop("from", None)
  if source is not None and source not in earlier:
    raise ConfigError(f"init {name!r} reads cell {source!r}, which has not run before it.")
  return _INITS[name](trainer, states, layout=layout, points=points,
                      earlier=earlier[source] if source is not None else None, **options)


def mix_params(theta_slab, theta_rand, alpha):
  """``α·θ_slab + (1−α)·θ_rand`` leaf by leaf; ``alpha`` is [members] (one α per member).

  α = 0 returns θ_rand and α = 1 returns θ_slab exactly (0·a + b = b, a + 0·b = a).
  """
  def mix(s, r):
    a = jnp.reshape(alpha, (-1,) + (1,) * (s.ndim - 1)).astype(s.dtype)
    return a * s + (1.0 - a) * r
  return jax.tree_util.tree_map(mix, theta_slab, theta_rand)


@register("mix")
def mix(trainer, states, *, layout, points, earlier, field: str = "alpha"):
  """Member ``(point p, seed s)`` starts from ``α_p·θ_from[s] + (1−α_p)·θ_rand`` with ``α_p =
  points[p][field]`` and ``θ_from[s]`` the trained parameters of seed ``s`` of the cell named by
  ``from`` (one member per seed there); its best parameters and optimizer state restart from it."""
  if not points or field not in points[0]:
    raise ConfigError(f"init 'mix' needs training points with {field!r}.")
  per_point = layout.num_seeds * layout.slots
  alpha = jnp.repeat(jnp.asarray([float(p[field]) for p in points], jnp.float32), per_point)
  source = earlier.variables["params"]
  if jax.tree_util.tree_leaves(source)[0].shape[0] != per_point:
    raise ConfigError(f"init 'mix': the source cell has "
                      f"{jax.tree_util.tree_leaves(source)[0].shape[0]} members, this cell "
                      f"{per_point} per training point.")
  tiled = jax.tree_util.tree_map(
      lambda a: jnp.tile(a, (len(points),) + (1,) * (a.ndim - 1)), source)
  if states.num_updates.shape[0] != alpha.shape[0]:
    raise ValueError(f"init 'mix' built for {alpha.shape[0]} members got "
                     f"{states.num_updates.shape[0]}")
  params = mix_params(tiled, states.params, alpha)
  opt_state = jax.vmap(trainer.optimizer.init)(params)
  return states._replace(params=params, best_params=params, opt_state=opt_state)
