"""Fold stream chunks into the Response a non-streamed call would have returned."""

from __future__ import annotations

from typing import Any

from vendors.types import Choice, Chunk, FunctionCall, Message, Response, ToolCall, Usage

__all__ = ["Accumulator"]


class _ChoiceState:
    __slots__ = ("blocks", "calls", "container", "content", "details", "finish", "reasoning", "thinking")

    def __init__(self) -> None:
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}
        self.thinking: list[dict[str, Any]] = []
        self.details: list[dict[str, Any]] | None = None
        self.blocks: list[dict[str, Any]] | None = None
        self.container: dict[str, Any] | None = None
        self.finish: str | None = None


class Accumulator:
    """Add chunks as they pass; `response()` assembles content, reasoning, tool calls and usage."""

    __slots__ = ("_choices", "created", "id", "model", "usage", "vendor")

    def __init__(self, *, vendor: str = "", model: str = "") -> None:
        self.id = ""
        self.created = 0
        self.model = model
        self.vendor = vendor
        self.usage: Usage | None = None
        self._choices: dict[int, _ChoiceState] = {}

    def add(self, chunk: Chunk) -> None:
        if not self.id and chunk.id:
            self.id, self.created = chunk.id, chunk.created
        if chunk.model:
            self.model = chunk.model
        if chunk.usage is not None:
            self.usage = chunk.usage
        for choice in chunk.choices:
            state = self._choices.get(choice.index)
            if state is None:
                state = self._choices[choice.index] = _ChoiceState()
            delta = choice.delta
            if delta.content:
                state.content.append(delta.content)
            if delta.reasoning_content:
                state.reasoning.append(delta.reasoning_content)
            if delta.tool_calls:
                for call in delta.tool_calls:
                    self._add_call(state, call)
            if delta.thinking_blocks:
                state.thinking.extend(delta.thinking_blocks)
            if delta.reasoning_details:
                state.details = delta.reasoning_details
            if delta.content_blocks:
                state.blocks = delta.content_blocks
            if delta.container:
                state.container = delta.container
            if choice.finish_reason:
                state.finish = choice.finish_reason

    @staticmethod
    def _add_call(state: _ChoiceState, call: ToolCall) -> None:
        index = call.index if call.index is not None else len(state.calls)
        slot = state.calls.get(index)
        if slot is None:
            slot = state.calls[index] = {"id": None, "type": "function", "name": None, "args": []}
        if call.id:
            slot["id"] = call.id
        if call.type:
            slot["type"] = call.type
        if call.function.name:
            slot["name"] = call.function.name
        if call.function.arguments:
            slot["args"].append(call.function.arguments)

    @property
    def text(self) -> str:
        """All answer text so far (choice 0), for estimates."""
        state = self._choices.get(0)
        return "".join(state.content) if state else ""

    @property
    def reasoning(self) -> str:
        state = self._choices.get(0)
        return "".join(state.reasoning) if state else ""

    def tool_calls(self) -> list[ToolCall]:
        state = self._choices.get(0)
        return self._calls(state) if state else []

    @staticmethod
    def _calls(state: _ChoiceState) -> list[ToolCall]:
        return [ToolCall(index=i, id=s["id"], type=s["type"], function=FunctionCall(name=s["name"],
                                                                                    arguments="".join(s["args"])))
                for i, s in sorted(state.calls.items())]

    def response(self) -> Response:
        choices = []
        for index, state in sorted(self._choices.items()):
            calls = self._calls(state)
            for call in calls:
                call.index = None
            message = Message(
                content="".join(state.content) if state.content or not calls else None,
                reasoning_content="".join(state.reasoning) or None,
                tool_calls=calls or None,
                thinking_blocks=state.thinking or None,
                reasoning_details=state.details,
                content_blocks=state.blocks,
                container=state.container,
            )
            choices.append(Choice(index=index, message=message, finish_reason=state.finish))
        return Response(id=self.id, created=self.created or 0, model=self.model, vendor=self.vendor,
                        choices=choices, usage=self.usage or Usage())
