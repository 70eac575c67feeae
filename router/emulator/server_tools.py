"""Anthropic server tools: which a request turns on, the blocks and usage they produce, the checks on them.

Shapes follow the anthropic SDK 2.15.0 block types and Anthropic's streaming examples (research/wire.md §1):
a ``server_tool_use`` / ``mcp_tool_use`` block streams its input as ``input_json_delta``; a result block
arrives whole in its ``content_block_start``. MCP needs ``anthropic-beta: mcp-client-…``; the dated computer-use
tools need ``computer-use-…``. A web search result's ``encrypted_content`` is signed, so a replay that alters
it (or drops a server tool's result) is refused, as the real API refuses a broken server-tool history.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .anthropic_wire import sign, verify

# Server and Anthropic-defined tool types the first-party API takes (dated names: future dates too).
_KNOWN = re.compile(
    r"(web_search|web_fetch|code_execution|bash|text_editor|memory|computer|computer_toolset|browser_toolset|"
    r"advisor)_\d{8}|tool_search_tool_(regex|bm25)(_\d{8})?|mcp_toolset|custom"
)
_BETA_TOOLS = {"computer_20241022": "computer-use-2024-10-22", "bash_20241022": "computer-use-2024-10-22",
               "text_editor_20241022": "computer-use-2024-10-22", "computer_20250124": "computer-use-2025-01-24",
               "computer_20251124": "computer-use-2025-11-24", "advisor_20260301": "advisor-tool-2026-03-01"}
RESULT_TYPES = ("web_search_tool_result", "web_fetch_tool_result", "code_execution_tool_result",
                "bash_code_execution_tool_result", "text_editor_code_execution_tool_result",
                "tool_search_tool_result", "mcp_tool_result")
USE_TYPES = ("server_tool_use", "mcp_tool_use")
_URL = re.compile(r"https?://\S+")


def _types(body: Mapping[str, Any]) -> list[str]:
    tools = body.get("tools") if isinstance(body.get("tools"), list) else []
    return [str(t["type"]) for t in tools if isinstance(t, dict) and isinstance(t.get("type"), str)]


def check_request(body: Mapping[str, Any], headers: Mapping[str, str], seed: int) -> tuple[int, str] | None:
    """(status, message) for a request the real API would refuse over server tools, else None."""
    betas = {v.strip() for v in headers.get("anthropic-beta", "").split(",") if v.strip()}
    for i, kind in enumerate(_types(body)):
        if not _KNOWN.fullmatch(kind):
            return 400, f"tools.{i}: Input tag '{kind}' found using 'type' does not match any of the expected tags"
        beta = _BETA_TOOLS.get(kind)
        if beta and beta not in betas:
            return 400, f"tools.{i}.type: '{kind}' requires the anthropic-beta header '{beta}'"
    if (body.get("mcp_servers") or "mcp_toolset" in _types(body)) and not any(
            b.startswith("mcp-client-") for b in betas):
        return 400, "mcp_servers: the MCP connector requires the anthropic-beta header 'mcp-client-2025-11-20'"
    return _check_history(body, seed)


def _check_history(body: Mapping[str, Any], seed: int) -> tuple[int, str] | None:
    for i, msg in enumerate(body.get("messages") or ()):
        if not isinstance(msg, dict) or msg.get("role") != "assistant" or not isinstance(msg.get("content"), list):
            continue
        blocks = [b for b in msg["content"] if isinstance(b, dict)]
        answered = {b.get("tool_use_id") for b in blocks if b.get("type") in RESULT_TYPES}
        for j, block in enumerate(blocks):
            kind = block.get("type")
            if kind in USE_TYPES and block.get("id") not in answered and j != len(blocks) - 1:
                return 400, f"messages.{i}.content.{j}: {kind} block {block.get('id')} has no result block after it"
            if kind == "web_search_tool_result" and isinstance(block.get("content"), list):
                for result in block["content"]:
                    if isinstance(result, dict) and not verify(seed, _search_key(block, result),
                                                               result.get("encrypted_content")):
                        return 400, f"messages.{i}.content.{j}: invalid encrypted_content in web_search_result"
    return None


def _search_key(block: Mapping[str, Any], result: Mapping[str, Any]) -> str:
    return f"{block.get('tool_use_id')}|{result.get('url')}"


def plan_blocks(body: Mapping[str, Any], user_text: str, ids: str, seed: int, *, future: bool = False
                ) -> tuple[list[dict[str, Any]], dict[str, int] | None, list[dict[str, Any]]]:
    """(server-tool blocks in order, usage.server_tool_use or None, citations for the answer's text)."""
    kinds, blocks, citations = _types(body), [], []
    searches = fetches = 0
    query = user_text[:80] or "emulator"

    def use(name: str, tool_input: dict[str, Any], n: int) -> str:
        tool_id = f"srvtoolu_{ids[n * 4:n * 4 + 24]}"
        blocks.append({"type": "server_tool_use", "id": tool_id, "name": name, "input": tool_input})
        return tool_id

    if any(k.startswith("web_search_") for k in kinds):
        tool_id, searches = use("web_search", {"query": query}, 0), 1
        result = {"type": "web_search_result", "url": "https://example.com/emulator", "title": f"About {query}",
                  "page_age": "1 day"}
        result["encrypted_content"] = sign(seed, _search_key({"tool_use_id": tool_id}, result))
        blocks.append({"type": "web_search_tool_result", "tool_use_id": tool_id, "content": [result]})
        citations.append({"type": "web_search_result_location", "cited_text": f"About {query}",
                          "url": result["url"], "title": result["title"], "encrypted_index": sign(seed, tool_id)})
    if any(k.startswith("web_fetch_") for k in kinds):
        found = _URL.search(user_text)
        url = found.group(0) if found else "https://example.com/"
        tool_id, fetches = use("web_fetch", {"url": url}, 1), 1
        document = {"type": "document", "title": "Emulator page",
                    "source": {"type": "text", "media_type": "text/plain", "data": f"Fetched {url} (emulator)."}}
        blocks.append({"type": "web_fetch_tool_result", "tool_use_id": tool_id,
                       "content": {"type": "web_fetch_result", "url": url, "retrieved_at": "2026-01-01T00:00:00Z",
                                   "content": document}})
    for kind in kinds:
        if kind == "code_execution_20250522":   # Python only (legacy)
            tool_id = use("code_execution", {"code": f"print({query!r})"}, 2)
            blocks.append({"type": "code_execution_tool_result", "tool_use_id": tool_id,
                           "content": {"type": "code_execution_result", "stdout": query + "\n", "stderr": "",
                                       "return_code": 0, "content": []}})
        elif kind.startswith("code_execution_"):   # bash + files from 20250825 on
            tool_id = use("bash_code_execution", {"command": "echo emulator > out.txt"}, 2)
            blocks.append({"type": "bash_code_execution_tool_result", "tool_use_id": tool_id,
                           "content": {"type": "bash_code_execution_result", "stdout": "", "stderr": "",
                                       "return_code": 0, "content": []}})
            tool_id = use("text_editor_code_execution", {"command": "view", "path": "out.txt"}, 3)
            blocks.append({"type": "text_editor_code_execution_tool_result", "tool_use_id": tool_id,
                           "content": {"type": "text_editor_code_execution_view_result", "content": "emulator\n",
                                       "file_type": "text", "num_lines": 1, "start_line": 1, "total_lines": 1}})
        else:
            continue
        break
    search_kind = next((k for k in kinds if k.startswith("tool_search_tool_")), None)
    if search_kind is not None:   # tool search: references to the client tools that match
        name = "tool_search_tool_bm25" if "bm25" in search_kind else "tool_search_tool_regex"
        tool_id = use(name, {"query" if "bm25" in name else "pattern": "weather"}, 4)
        tools = [t for t in body.get("tools") or () if isinstance(t, dict) and t.get("type") in (None, "custom")]
        refs = [{"type": "tool_reference", "tool_name": str(t.get("name"))} for t in tools[:1]]
        blocks.append({"type": "tool_search_tool_result", "tool_use_id": tool_id,
                       "content": {"type": "tool_search_tool_search_result", "tool_references": refs}})
    servers = [s for s in body.get("mcp_servers") or () if isinstance(s, dict)]
    if servers:
        tool_id = f"mcptoolu_{ids[40:64]}"
        blocks.append({"type": "mcp_tool_use", "id": tool_id, "name": "echo",
                       "server_name": str(servers[0].get("name") or "mcp"), "input": {"text": query}})
        blocks.append({"type": "mcp_tool_result", "tool_use_id": tool_id, "is_error": False,
                       "content": [{"type": "text", "text": query}]})
    if future and blocks:
        blocks.append({"type": "emulator_future_block", "id": f"fut_{ids[:12]}", "detail": {"kept": True}})
    usage = {"web_search_requests": searches, "web_fetch_requests": fetches} if searches or fetches else None
    return blocks, usage, citations


def container_for(blocks: list[dict[str, Any]], ids: str) -> dict[str, Any] | None:
    """Message.container ({id, expires_at}) when code execution ran, as the SDK's Container type has it."""
    if not any("code_execution" in str(b.get("name", "")) for b in blocks if b.get("type") == "server_tool_use"):
        return None
    return {"id": f"container_{ids[:24]}", "expires_at": "2026-01-01T01:00:00Z"}
