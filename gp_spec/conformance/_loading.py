"""Load an implementation from ``MODULE:ATTR`` (a dotted module or a ``.py`` path)."""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import os
import sys
from typing import Any

from gp_spec.errors import ImplementationLoadError, first_line

__all__ = ["load_implementation"]


def _module(name: str) -> Any:
    if name.endswith(".py") or os.sep in name or "/" in name:
        path = os.path.abspath(name)
        if not os.path.isfile(path):
            raise ImplementationLoadError(f"{name!r}: no such file")
        mod_name = "_gp_spec_impl_" + os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(mod_name, path)
        if spec is None or spec.loader is None:
            raise ImplementationLoadError(f"{name!r}: cannot be imported as a Python file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(mod_name, None)  # no half-initialised module left behind
            raise
        return module
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    return importlib.import_module(name)


def load_implementation(target: str) -> Any:
    """Import ``MODULE:ATTR`` and return the attribute (``ATTR`` may be dotted).

    ``MODULE`` is a dotted module name importable from the current directory, or a path to a
    ``.py`` file (``examples/penalties.py:wgan_gp``).

    Raises:
      ImplementationLoadError: malformed target, import failure or missing attribute.
    """
    if not isinstance(target, str) or target.count(":") != 1 or target.startswith(":") \
            or target.endswith(":"):
        raise ImplementationLoadError(
            f"{target!r}: expected MODULE:ATTR, e.g. mypkg.losses:gradient_penalty or "
            "path/to/file.py:gradient_penalty"
        )
    mod_name, attr = target.split(":")
    try:
        obj = _module(mod_name)
    except ImplementationLoadError:
        raise
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SystemExit at import time included: report, do not exit
        hint = (
            " (the module ends the process when imported: put its script part under "
            "if __name__ == '__main__':)" if isinstance(exc, SystemExit) else ""
        )
        raise ImplementationLoadError(
            f"{target!r}: importing {mod_name!r} failed with {type(exc).__name__}: "
            f"{first_line(exc) or '(no message)'}{hint}"
        ) from None
    for part in attr.split("."):
        if not part.isidentifier() or not hasattr(obj, part):
            names = [n for n in dir(obj) if not n.startswith("_")]
            close = difflib.get_close_matches(part, names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ImplementationLoadError(
                f"{target!r}: {mod_name!r} has no attribute {attr!r}{hint}"
            )
        obj = getattr(obj, part)
    return obj
