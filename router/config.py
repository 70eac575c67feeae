"""Router config files: YAML (PyYAML) or JSON, `${ENV_VAR}` references, errors naming file and field."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from vendors.errors import ConfigError

__all__ = ["load_config", "read_config"]

_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand(value: Any, path: str, where: str) -> Any:
    """Replace `${NAME}` with the environment variable; a missing one is an error naming the field."""
    if isinstance(value, str):
        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise ConfigError(f"{where}: {path} refers to ${{{name}}}, which is not set in the environment")
            return os.environ[name]

        return _REF.sub(sub, value)
    if isinstance(value, dict):
        return {k: _expand(v, f"{path}.{k}" if path else str(k), where) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, f"{path}[{i}]", where) for i, v in enumerate(value)]
    return value


def _read(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc
    try:
        import yaml
    except ImportError as exc:
        raise ConfigError(f"{path}: reading YAML needs PyYAML (pip install 'farebox[yaml]'), or use JSON") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise ConfigError(f"{path}: {where}{getattr(exc, 'problem', None) or exc}") from exc


def read_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A config file's top-level mapping, `${ENV_VAR}` references expanded, not yet validated."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"config file {str(file)!r} does not exist")
    data = _read(file)
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: the top level must be a mapping with 'deployments' (and optional 'fallbacks')")
    return _expand(data, "", str(file))


def load_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The validated keyword arguments for Router(...) from a config file (its `gateway:` section is the
    gateway's own, router/gateway/settings.py)."""
    from router.routing import RouterConfig

    file = Path(path)
    data = read_config(file)
    data.pop("gateway", None)
    try:
        config = RouterConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise ConfigError(f"{file}: {problems}") from None
    return config.model_dump(exclude_unset=True) | {"deployments": config.deployments}
