"""Registries by name (models, objectives, data transforms, inits): a dict with a decorator."""

from typing import Callable


def reads(spec) -> tuple:
  """The labels of the earlier cells a ``(name, options)`` spec (a data transform or an init)
  reads: its ``from`` option, one label or several."""
  if spec is None:
    return ()
  source = dict(spec[1]).get("from") or ()
  return (source,) if isinstance(source, str) else tuple(source)


class Registry(dict):
  """``{name: function}``; ``@registry.register(name)`` adds one (a name once only)."""

  def __init__(self, kind: str):
    super().__init__()
    self.kind = kind

  def register(self, name: str) -> Callable:
    def wrap(fn):
      if name in self:
        raise ValueError(f"{self.kind} {name!r} is registered twice")
      self[name] = fn
      return fn

    return wrap
