"""The public exception hierarchy (defined in vendors.errors; see its docstring for the tree)."""

from vendors.errors import *  # noqa: F403
from vendors.errors import __all__ as __all__
