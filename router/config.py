"""Router config files: YAML (PyYAML) or JSON, `${ENV_VAR}` references, errors naming file and field."""

from __future__ import annotations

import json
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from router.litellm import router_options
from router.tracking.budgets import Budget, Period
from vendors.errors import ConfigError

__all__ = ["Deployment", "RateLimitPolicy", "RouterConfig", "Strategy", "load_config", "read_config",
           "validation_problems"]

Strategy = Literal["ordered", "lowest-cost", "lowest-latency", "weighted"]
RateLimitPolicy = Literal["next", "wait"]


class Deployment(BaseModel):
    """One place an alias can be served: a model at a vendor with its own key, base URL and effort."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alias: str
    model: str
    api_key: SecretStr | None = None
    base_url: str | None = None
    region: str | None = None
    wire: str | None = None
    weight: float = Field(default=1.0, gt=0)
    reasoning_effort: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    name: str | None = None
    # A spend limit for this deployment's alias (all its deployments must agree), per UTC day or month.
    max_budget: Decimal | None = Field(default=None, gt=0)
    budget_period: Period | None = Field(
        default=None, validation_alias=AliasChoices("budget_period", "budget_duration"))
    # Requests and tokens per minute this deployment may take (a sliding window, shared on Redis state).
    rpm: int | None = Field(default=None, gt=0)
    tpm: int | None = Field(default=None, gt=0)

    @property
    def label(self) -> str:
        return self.name or f"{self.alias}:{self.model}"


class RouterConfig(BaseModel):
    """The validated shape of a Router (and of farebox.yaml)."""

    model_config = ConfigDict(extra="forbid")

    deployments: list[Deployment]
    fallbacks: dict[str, list[str]] = Field(default_factory=dict)
    context_window_fallbacks: dict[str, list[str]] = Field(default_factory=dict)
    content_policy_fallbacks: dict[str, list[str]] = Field(default_factory=dict)
    strategy: Strategy = "ordered"
    num_retries: int = Field(default=2, ge=0)
    cooldown_s: float = Field(default=30.0, ge=0)
    allowed_fails: int = Field(default=3, ge=1)
    fail_window_s: float = Field(default=60.0, gt=0)
    timeout: float | None = Field(default=None, gt=0)
    deadline: float | None = Field(default=None, gt=0)
    # Budgets (router.tracking.budgets), checked before each routed call: max_budget is USD per budget_period for
    # every alias (a number) or for the aliases named ({"smart": 10}); budgets takes full Budget entries.
    max_budget: Decimal | dict[str, Decimal] | None = None
    budget_period: Period = Field(
        default="day", validation_alias=AliasChoices("budget_period", "budget_duration"))
    budgets: list[Budget] = Field(default_factory=list)
    # Where cooldowns, rate-limit windows, latency and budget reservations live: None = router.configure(state=)
    # or $FAREBOX_STATE, else this Router's own memory; "redis://host:6379/0" shares them between processes.
    state: str | None = None
    # A deployment at its rpm/tpm limit: "next" skips to the next one (like a cooled one); "wait" waits for room
    # when every deployment of the alias is at its limit (within the call's deadline).
    rate_limit: RateLimitPolicy = "next"

    @field_validator("deployments")
    @classmethod
    def _not_empty(cls, value: list[Deployment]) -> list[Deployment]:
        if not value:
            raise ValueError("at least one deployment is needed")
        return value


def validation_problems(exc: ValidationError) -> str:
    """A pydantic error as one line: `field.path: message` per problem, joined by "; "."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())


_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# A config file is small and shallow: these bound the time and memory a hostile or broken one can take.
MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 100_000
MAX_ALIASES = 200


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
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_BYTES // 1024} KiB; a config file is not that big")
    # Each problem is raised outside its except: the parser's error (whose .doc / mark.buffer is the whole
    # file, keys and all) is not chained to the ConfigError.
    problem = None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = f"not UTF-8 text (byte {exc.start} is {raw[exc.start]:#04x}); save it as UTF-8"
    if problem is None and path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            problem = f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
        except RecursionError:
            problem = f"nested too deeply (at most {MAX_DEPTH} levels)"
        except ValueError as exc:  # e.g. an integer past sys.get_int_max_str_digits()
            problem = _first_line(exc)
    elif problem is None:
        data, problem = _read_yaml(path, text)
    if problem is not None:
        raise ConfigError(f"{path}: {problem}")
    _check_shape(data, path)
    return data


def _first_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def _read_yaml(path: Path, text: str) -> tuple[Any, str | None]:
    try:
        import yaml  # lazy: PyYAML is the optional [yaml] extra; JSON configs work without it
    except ImportError:
        raise ConfigError(f"{path}: reading YAML needs PyYAML (pip install 'farebox[yaml]'), or use JSON") from None

    class Loader(yaml.SafeLoader):
        """safe_load refusing more than MAX_ALIASES aliases (an alias bomb is made of them) and deep nesting."""

        aliases = 0
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                self.aliases += 1
                if self.aliases > MAX_ALIASES:
                    raise ConfigError(f"{path}: more than {MAX_ALIASES} YAML aliases (*name); refused")
            self.depth += 1
            try:
                if self.depth > MAX_DEPTH:
                    raise ConfigError(f"{path}: nested too deeply (at most {MAX_DEPTH} levels)")
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    loader = Loader(text)
    try:
        return loader.get_single_data(), None
    except ConfigError:
        raise
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        return None, f"{where}{getattr(exc, 'problem', None) or exc}"
    except RecursionError:
        return None, f"nested too deeply (at most {MAX_DEPTH} levels)"
    except (ValueError, TypeError, OverflowError) as exc:  # a 5,000-digit integer, an unhashable key
        return None, _first_line(exc)
    finally:
        loader.dispose()


def _check_shape(data: Any, path: Path) -> None:
    """Refuse a document nested past MAX_DEPTH or with more than MAX_NODES values (aliases counted each time)."""
    stack = [(data, 1)]
    nodes = 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise ConfigError(f"{path}: more than {MAX_NODES} values (YAML aliases count each time they are used)")
        if depth > MAX_DEPTH:
            raise ConfigError(f"{path}: nested too deeply (at most {MAX_DEPTH} levels)")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


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
    file = Path(path)
    data = read_config(file)
    data.pop("gateway", None)
    if "model_list" in data:  # LiteLLM's config shape: translated to Farebox's before validation

        deployments, data = router_options(data.pop("deployments", None), data)
        data["deployments"] = deployments
    try:
        config = RouterConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{file}: {validation_problems(exc)}") from None
    return config.model_dump(exclude_unset=True) | {"deployments": config.deployments}
