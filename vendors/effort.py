"""Reasoning effort: one caller vocabulary, a total table per vendor/model profile, a renderer per wire."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from vendors.errors import InvalidEffortError
from vendors.types import Wire

__all__ = [
    "NO_REASONING_EFFORT",
    "THINKING_TYPE_ON_BOTH_WIRES",
    "VOCABULARY",
    "Decision",
    "EffortLevels",
    "EffortProfile",
    "EffortResult",
    "Inexpressible",
    "Rendered",
    "WireShape",
    "adaptive_and_output_effort",
    "budget_thinking",
    "by_words",
    "effort_levels_of",
    "keep",
    "normalize_word",
    "reasoning_effort",
    "reject",
    "resolve_effort",
    "switch_and_output_effort",
    "switch_and_reasoning_effort",
    "thinking_type",
    "use",
]

# The words a caller may pass as reasoning_effort, matched after trim + lower-case (STYLE.md §3).
# Wire shapes below cite docs/vendors.md sections; all were checked on 2026-11-21.
# None (not given) is separate from "auto": see EffortProfile.unset.
VOCABULARY: tuple[str, ...] = (
    "auto", "none", "off", "disabled", "enabled", "adaptive",
    "minimal", "low", "medium", "high", "xhigh", "max",
)


@dataclass(frozen=True, slots=True)
class Decision:
    """What one vocabulary word becomes under one profile."""

    level: str | None = None    # the vendor level in effect; None when no level is known
    send: bool = True           # False: nothing goes on the wire and the vendor's own default applies
    error: str | None = None    # set: the word cannot be expressed, and why
    note: str | None = None     # shown as EffortResult.note; may use {vendor} and {model}

    @property
    def invalid(self) -> bool:
        return self.error is not None


def use(level: str, note: str | None = None) -> Decision:
    """Send `level` on the wire."""
    return Decision(level=level, note=note)


def keep(level: str | None = None, note: str | None = None) -> Decision:
    """Send nothing; `level` records what the vendor does by default (None when unknown)."""
    return Decision(level=level, send=False, note=note)


def reject(reason: str, level: str | None = None) -> Decision:
    """The word cannot be expressed; `level` is what applies if the caller drops it (drop_params)."""
    return Decision(level=level, send=False, error=reason)


def by_words(groups: Mapping[str, Decision]) -> dict[str, Decision]:
    """A table from space-separated word groups: {"none off disabled": use("disabled"), ...}."""
    table: dict[str, Decision] = {}
    for words, decision in groups.items():
        for word in words.split():
            if word in table:
                raise ValueError(f"effort word {word!r} appears twice")
            table[word] = decision
    return table


class Inexpressible(Exception):
    """Raised by a renderer when a level cannot be put on the wire (e.g. no room for a budget)."""


@dataclass(frozen=True, slots=True)
class Rendered:
    """A level on the wire: the top-level body fragment, keys that must then be absent, a note."""

    body: dict[str, Any]
    remove: frozenset[str] = frozenset()
    note: str | None = None


# A renderer gets the vendor level and the max_tokens that will be sent.
Render = Callable[[str, int | None], Rendered]


def thinking_type(level: str, max_tokens: int | None) -> Rendered:
    """{"thinking": {"type": level}}: MiniMax-M3, Zhipu GLM, Kimi K2, undeclared Anthropic gateways."""
    return Rendered({"thinking": {"type": level}})


def reasoning_effort(level: str, max_tokens: int | None) -> Rendered:
    """{"reasoning_effort": level}: OpenAI, Kimi K3, OpenAI-compatible servers."""
    return Rendered({"reasoning_effort": level})


def switch_and_reasoning_effort(level: str, max_tokens: int | None) -> Rendered:
    """{"thinking": {"type": "enabled"}, "reasoning_effort": level}, or thinking disabled alone (DeepSeek chat)."""
    if level == "disabled":
        # Reasonix TestBuildRequestDeepSeekDisabled: thinking disabled, reasoning_effort omitted.
        return Rendered({"thinking": {"type": "disabled"}}, frozenset({"reasoning_effort"}))
    return Rendered({"thinking": {"type": "enabled"}, "reasoning_effort": level})


def switch_and_output_effort(level: str, max_tokens: int | None) -> Rendered:
    """{"thinking": {"type": "enabled"}, "output_config": {"effort": level}}, or thinking disabled alone."""
    if level == "disabled":
        return Rendered({"thinking": {"type": "disabled"}}, frozenset({"reasoning_effort"}))
    return Rendered({"thinking": {"type": "enabled"}, "output_config": {"effort": level}},
                    frozenset({"reasoning_effort"}))


def adaptive_and_output_effort(level: str, max_tokens: int | None) -> Rendered:
    """{"thinking": {"type": "adaptive"}, "output_config": {"effort": level}}; adaptive|disabled alone (Claude 4.6+)."""
    if level in ("adaptive", "disabled"):
        return Rendered({"thinking": {"type": level}})
    return Rendered({"thinking": {"type": "adaptive"}, "output_config": {"effort": level}})


MIN_BUDGET = 1024   # Anthropic: budget_tokens ≥ 1024 and < max_tokens (docs/vendors.md §5 [V-doc])
ANSWER_ROOM = 4096  # max_tokens not given: the budget plus this much for the answer (VendorSpec.default_max_tokens)
ANSWER_SHARE = 4    # max_tokens given: at least a quarter of it (and at least MIN_ANSWER) stays for the answer
MIN_ANSWER = 1024


def budget_thinking(budgets: Mapping[str, int]) -> Render:
    """Older Claude models: {"thinking": {"type": "enabled", "budget_tokens": B}}, B from `budgets`.

    Without a caller max_tokens the body also sets max_tokens = B + ANSWER_ROOM (within the model's max
    output `ceiling`), so the answer keeps its room. With one, B leaves max(max_tokens/4, 1024) tokens for the
    answer; levels clamped to the same B are named in the note (they collapsed).
    """

    def render(level: str, max_tokens: int | None, ceiling: int | None = None) -> Rendered:
        if level == "disabled":
            return Rendered({"thinking": {"type": "disabled"}})
        wanted = budgets[level]
        if max_tokens is None:
            room = ANSWER_ROOM
            budget = wanted if ceiling is None else max(MIN_BUDGET, min(wanted, ceiling - room))
            total = budget + room if ceiling is None else min(budget + room, ceiling)
            if total - budget < MIN_ANSWER:
                raise Inexpressible(f"the model's max output ({ceiling}) leaves no room for a thinking budget")
            note = None if budget == wanted else (
                f"budget_tokens {wanted} clamped to {budget}: the model's max output is {ceiling} and "
                f"{total - budget} tokens stay for the answer")
            return Rendered({"thinking": {"type": "enabled", "budget_tokens": budget}, "max_tokens": total},
                            note=note)
        limit = max_tokens - max(max_tokens // ANSWER_SHARE, MIN_ANSWER)
        if limit < MIN_BUDGET:
            raise Inexpressible(
                f"extended thinking needs budget_tokens ≥ {MIN_BUDGET} plus a quarter of max_tokens (≥ {MIN_ANSWER}) "
                f"for the answer, so max_tokens must be at least {MIN_BUDGET + MIN_ANSWER} (got {max_tokens}); "
                "or leave max_tokens out and Farebox sizes it")
        if wanted <= limit:
            return Rendered({"thinking": {"type": "enabled", "budget_tokens": wanted}})
        same = [name for name, tokens in budgets.items() if tokens >= limit]
        note = (f"budget_tokens {wanted} clamped to {limit}: max_tokens {max_tokens} keeps "
                f"{max_tokens - limit} for the answer")
        if len(same) > 1:
            note += f"; levels {', '.join(same)} collapse to the same budget at this max_tokens"
        return Rendered({"thinking": {"type": "enabled", "budget_tokens": limit}}, note=note)

    return render


@dataclass(frozen=True, slots=True)
class WireShape:
    """How a profile's levels go on one wire."""

    render: Render
    forbid: frozenset[str] = frozenset()   # top-level keys this vendor/model must never receive here
    sizes_output: bool = False             # the renderer also takes the model's max output (budget_thinking)


NO_REASONING_EFFORT = frozenset({"reasoning_effort"})
# thinking.type on either wire, reasoning_effort never sent (MiniMax-M3, Zhipu GLM).
THINKING_TYPE_ON_BOTH_WIRES: Mapping[Wire, WireShape] = MappingProxyType({
    Wire.OPENAI_CHAT: WireShape(thinking_type, NO_REASONING_EFFORT),
    Wire.ANTHROPIC_MESSAGES: WireShape(thinking_type, NO_REASONING_EFFORT),
})


@dataclass(frozen=True, slots=True)
class EffortLevels:
    """The menu a vendor/model offers: what vendors.effort_levels() returns."""

    levels: tuple[str, ...]
    default: str
    configurable: bool = True


@dataclass(frozen=True, slots=True)
class EffortProfile:
    """One vendor/model's effort contract: its levels and a decision for every vocabulary word."""

    name: str                            # e.g. "minimax-m3"
    levels: tuple[str, ...]              # as the vendor names them, "auto" first
    default: str                         # the level in effect when the caller does not ask
    table: Mapping[str, Decision]        # total over VOCABULARY
    wires: Mapping[Wire, WireShape]      # the surfaces this profile can be sent on
    hint: str = ""                       # vendor-specific advice attached to InvalidEffortError
    unset: Decision = Decision(send=False)   # when the caller names no level: by default, send nothing

    def __post_init__(self) -> None:
        missing = [w for w in VOCABULARY if w not in self.table]
        extra = [w for w in self.table if w not in VOCABULARY]
        if missing or extra:
            raise ValueError(f"effort profile {self.name}: missing {missing}, unknown {extra}")
        if self.default not in self.levels:
            raise ValueError(f"effort profile {self.name}: default {self.default!r} is not a level")
        refused = [lv for lv in self.levels if lv not in VOCABULARY or self.table[lv].invalid]
        if refused:
            raise ValueError(f"effort profile {self.name}: levels {refused} are not accepted")
        if self.unset.invalid:
            raise ValueError(f"effort profile {self.name}: the unset decision cannot be an error")
        object.__setattr__(self, "table", MappingProxyType(dict(self.table)))
        object.__setattr__(self, "wires", MappingProxyType(dict(self.wires)))

    @property
    def usage(self) -> str:
        """The levels as the error messages show them: "auto|adaptive|disabled"."""
        return "|".join(self.levels)

    def menu(self) -> EffortLevels:
        return EffortLevels(levels=self.levels, default=self.default)


def effort_levels_of(profile: EffortProfile | None) -> EffortLevels:
    """The menu for a profile; a vendor without one only takes "auto" (leave it to the vendor)."""
    if profile is None:
        return EffortLevels(levels=("auto",), default="auto", configurable=False)
    return profile.menu()


@dataclass(frozen=True, slots=True)
class EffortResult:
    """What a caller's effort became for one request on one wire."""

    requested: str | None          # the caller's word, normalised; None when not given
    level: str | None              # the vendor level in effect; None = nothing configurable or known
    body: Mapping[str, Any]        # merge at the top level of the wire body (output_config one level deep)
    remove: frozenset[str]         # top-level keys that must not be on the wire for this vendor/model
    note: str | None
    dropped: bool = False          # an inexpressible level dropped because drop_params=True

    def as_dict(self) -> dict[str, Any]:
        """For resp.effort and the ledger."""
        return {
            "requested": self.requested,
            "level": self.level,
            "sent": copy.deepcopy(dict(self.body)) if self.body else {},
            "note": self.note,
            "dropped": self.dropped,
        }


def _clean(level: str | None) -> str | None:
    return None if level is None else str(level).strip().lower()


def normalize_word(level: str | None) -> str | None:
    """The caller's word trimmed and lower-cased; InvalidEffortError when it is not in VOCABULARY."""
    word = _clean(level)
    if word is not None and word not in VOCABULARY:
        raise InvalidEffortError(
            f"reasoning_effort {word!r} is not an effort level; use {'|'.join(VOCABULARY)}"
        )
    return word


def _error(word: str, reason: str, profile: EffortProfile, vendor: str, model: str) -> InvalidEffortError:
    # str() of the error prefixes "vendor/model: ", so the message itself does not repeat them.
    return InvalidEffortError(
        f"reasoning_effort {word!r} is not accepted: {reason}; use {profile.usage}",
        vendor=vendor,
        model=model,
        hint=profile.hint.format(vendor=vendor, model=model) or None,
    )


def _dropped(word: str, reason: str, level: str | None, forbid: frozenset[str]) -> EffortResult:
    note = f"reasoning_effort {word!r} dropped (drop_params=True): {reason}"
    return EffortResult(word, level, {}, forbid, note, dropped=True)


def resolve_effort(
    profile: EffortProfile | None,
    level: str | None,
    *,
    wire: Wire,
    vendor: str,
    model: str,
    max_tokens: int | None = None,
    drop_params: bool = False,
    max_output: int | None = None,
) -> EffortResult:
    """What `level` becomes for `vendor`/`model` on `wire`: the body fragment, the keys to remove, a note.

    Raises InvalidEffortError (listing the profile's levels) for a word outside the vocabulary, and for
    a word the profile cannot express unless `drop_params` is True, in which case the result is
    `dropped` and says why. `max_tokens` is the caller's output cap (None: not given; a budget renderer then
    sizes it, within `max_output`, the model's maximum).
    """
    word = _clean(level)
    if profile is None:
        # Reasonix effort.go: "auto" is accepted for every entry; any other level on a vendor
        # without a reasoning control is "effort is not configurable for <name>" (docs/vendors.md §7.2).
        if word is None or word == "auto":
            return EffortResult(word, None, {}, frozenset(), None)
        reason = f"effort is not configurable for {vendor}/{model}"
        if drop_params and word in VOCABULARY:
            return _dropped(word, reason, None, frozenset())
        raise InvalidEffortError(reason, vendor=vendor, model=model)
    if word is not None and word not in VOCABULARY:
        # A typo is never dropped, even with drop_params: it is not an effort level anywhere.
        raise _error(word, "not an effort level", profile, vendor, model)

    decision = profile.unset if word is None else profile.table[word]
    shape = profile.wires.get(wire)
    forbid = shape.forbid if shape is not None else frozenset()
    note = decision.note.format(vendor=vendor, model=model) if decision.note else None
    if decision.error is not None:
        reason = decision.error.format(vendor=vendor, model=model)
        if drop_params and word is not None:
            return _dropped(word, reason, decision.level, forbid)
        raise _error(word or "", reason, profile, vendor, model)   # word is set: `unset` is never an error
    if not decision.send:
        return EffortResult(word, decision.level, {}, forbid, note)

    try:
        if shape is None:
            raise Inexpressible(f"{profile.name} effort cannot be sent on the {wire.value} surface")
        if shape.sizes_output:
            rendered = shape.render(decision.level or "", max_tokens, max_output)
        else:
            rendered = shape.render(decision.level or "", max_tokens)
    except Inexpressible as exc:
        if word is None:    # the caller asked for nothing: leave the vendor's default rather than fail
            return EffortResult(None, None, {}, forbid, None)
        if drop_params:
            return _dropped(word, str(exc), None, forbid)
        raise _error(word, str(exc), profile, vendor, model) from exc
    if rendered.note:
        note = f"{note}; {rendered.note}" if note else rendered.note
    return EffortResult(word, decision.level, rendered.body, forbid | rendered.remove, note)
