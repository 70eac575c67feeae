"""The aiohttp application: routes /{profile}/... to a surface, records every request, serves /_emulator/."""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from .errors import error_body
from .faults import Fault
from .profiles import PROFILES, Profile
from .records import build_record, extract_auth
from .respond import answer, json_response
from .state import State
from .validate import Incoming

STATE_KEY = web.AppKey("farebox_emulator_state", State)
_MODELS_CREATED = 1_767_225_600


def parse_profile_segment(segment: str) -> tuple[str, str]:
    """ "minimax" -> ("minimax", "global"); "minimax-cn" -> ("minimax", "cn")."""
    name, _, region = segment.partition("-")
    return name, region or "global"


def classify(rest: str) -> str | None:
    """Which endpoint a path suffix names: "openai", "anthropic", "models" or None."""
    tail = rest.rstrip("/")
    if tail.endswith("/chat/completions"):
        return "openai"
    last = tail.rsplit("/", 1)[-1]
    if last == "messages":
        return "anthropic"
    if last == "models":
        return "models"
    return None


def _parse_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def models_body(profile: Profile) -> dict[str, Any]:
    """OpenAI list shape; the first-party Anthropic profile answers in Anthropic's list shape."""
    if profile.name == "anthropic":
        data = [
            {"type": "model", "id": m, "display_name": m, "created_at": "2026-01-01T00:00:00Z"} for m in profile.models
        ]
        return {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}
    data = [{"id": m, "object": "model", "created": _MODELS_CREATED, "owned_by": profile.name} for m in profile.models]
    return {"object": "list", "data": data}


async def dispatch(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    segments = request.path.strip("/").split("/")
    name, region = parse_profile_segment(segments[0])
    rest = "/" + "/".join(segments[1:])
    kind = classify(rest)
    raw = await request.read()
    body = _parse_json(raw)
    surface = "anthropic" if kind == "anthropic" else "openai"
    raw_headers = dict(request.headers)
    state.record(
        build_record(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            raw_headers=raw_headers,
            body=body,
            raw_body_len=len(raw),
            vendor=name,
            surface=surface,
            region=region,
            now=time.time(),
        )
    )
    profile = PROFILES.get(name)
    if profile is None:
        message = f"Unknown emulator profile {name!r}; known profiles: {', '.join(PROFILES)}"
        return json_response({"error": {"message": message, "type": "not_found_error", "code": "unknown_profile"}}, 404)
    if kind == "models" and request.method == "GET" and profile.models_endpoint:
        return json_response(models_body(profile))
    if kind in profile.surfaces and request.method == "POST":
        headers = {k.lower(): v for k, v in raw_headers.items()}
        auth_kind, raw_key = extract_auth(headers)
        return await answer(request, state, Incoming(profile, surface, body, headers, auth_kind, raw_key))
    err_surface = surface if surface in profile.surfaces else profile.surfaces[0]
    message = f"Unknown path: {request.method} {request.path}"
    return json_response(error_body(profile.errors, err_surface, 404, message), 404)


async def _health(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    return json_response({"status": "ok", "profiles": list(PROFILES), "requests": len(state.requests())})


async def _add_fault(request: web.Request) -> web.Response:
    try:
        fault = Fault.from_json(await request.json())
    except (ValueError, TypeError) as exc:
        return json_response({"error": {"message": str(exc), "type": "invalid_request_error"}}, 400)
    request.app[STATE_KEY].faults.add(fault)
    return json_response(fault.to_json(), 201)


async def _list_faults(request: web.Request) -> web.Response:
    return json_response([f.to_json() for f in request.app[STATE_KEY].faults.pending()])


async def _clear_faults(request: web.Request) -> web.Response:
    request.app[STATE_KEY].faults.clear()
    return json_response({"cleared": "faults"})


async def _list_requests(request: web.Request) -> web.Response:
    return json_response([r.to_json() for r in request.app[STATE_KEY].requests()])


async def _clear_requests(request: web.Request) -> web.Response:
    request.app[STATE_KEY].clear()  # same as Emulator.clear(): requests and pending faults
    return json_response({"cleared": "requests and faults"})


async def _set_options(request: web.Request) -> web.Response:
    vendor = request.match_info["vendor"]
    try:
        data = await request.json()
        if not isinstance(data, dict):
            raise ValueError("options must be a JSON object")
        merged = request.app[STATE_KEY].set_options(vendor, data)
    except (ValueError, TypeError) as exc:
        return json_response({"error": {"message": str(exc), "type": "invalid_request_error"}}, 400)
    return json_response(public_options(merged))


def public_options(options: dict[str, Any]) -> dict[str, Any]:
    """Options as JSON: accepted keys are reported by fingerprint only."""
    out = dict(options)
    if out.get("valid_keys") is not None:
        out["valid_keys"] = sorted(out["valid_keys"])
    return out


def build_app(state: State) -> web.Application:
    # MiniMax accepts request bodies up to 64 MB (docs/vendors.md §1.4), so the emulator does too.
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[STATE_KEY] = state
    app.router.add_get("/_emulator/health", _health)
    app.router.add_post("/_emulator/faults", _add_fault)
    app.router.add_get("/_emulator/faults", _list_faults)
    app.router.add_delete("/_emulator/faults", _clear_faults)
    app.router.add_get("/_emulator/requests", _list_requests)
    app.router.add_delete("/_emulator/requests", _clear_requests)
    app.router.add_post("/_emulator/options/{vendor}", _set_options)
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app
