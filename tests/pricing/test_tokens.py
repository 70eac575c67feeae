"""Offline token counting: parity with tiktoken, message conventions, hash pinning, no network, cheap import."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pydantic
import pytest
import tiktoken
import tiktoken.load
from tiktoken_ext import openai_public

import pricing
from pricing import PricingError
from pricing.tokens import SPECS, encoding_name_for, load_encoding, read_ranks

REPO = Path(__file__).resolve().parents[2]

SAMPLES = [
    "hello world",
    "The quick brown fox jumps over the lazy dog. 1234567890",
    "def f(x):\n    return x ** 2  # square\n\n\n",
    "多语言文本：你好，世界！ Ünïcödé — emojis 🎉🚀",
    "   leading and trailing spaces   \t\r\n",
    "<|endoftext|> is just text here",
]


def _reference(name: str) -> tiktoken.Encoding:
    """tiktoken's own constructor for `name`, fed the shipped file instead of the download URL."""
    path = SPECS[name].path
    real_loader = openai_public.load_tiktoken_bpe

    def local(_url: str, expected_hash: str) -> dict[bytes, int]:
        return tiktoken.load.load_tiktoken_bpe(str(path), expected_hash=expected_hash)

    openai_public.load_tiktoken_bpe = local
    try:
        params = getattr(openai_public, name)()
    finally:
        openai_public.load_tiktoken_bpe = real_loader
    return tiktoken.Encoding(**params)


@pytest.fixture(scope="module")
def references() -> dict[str, tiktoken.Encoding]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIKTOKEN_CACHE_DIR", "")  # "" disables tiktoken's on-disk cache
        return {name: _reference(name) for name in SPECS}


# ------------------------------------------------------------------------------------ tiktoken parity


@pytest.mark.parametrize("name", sorted(SPECS))
def test_specs_match_tiktoken_ext(name: str, references):
    ours, theirs = load_encoding(name), references[name]
    assert ours._pat_str == theirs._pat_str
    assert ours._special_tokens == theirs._special_tokens
    assert ours.n_vocab == theirs.n_vocab


@pytest.mark.parametrize("text", SAMPLES)
@pytest.mark.parametrize(("model", "name"), [("gpt-4o", "o200k_base"), ("anthropic/claude-sonnet-4-5", "cl100k_base")])
def test_count_tokens_matches_tiktoken_for_plain_text(model: str, name: str, text: str, references):
    expected = len(references[name].encode(text, disallowed_special=()))
    assert pricing.count_tokens(model, text=text) == expected
    assert load_encoding(name).encode_ordinary(text) == references[name].encode_ordinary(text)


def test_shipped_files_carry_tiktokens_pinned_hashes():
    for spec in SPECS.values():
        assert hashlib.sha256(spec.path.read_bytes()).hexdigest() == spec.sha256


# ---------------------------------------------------------------------------------- encoding choice


@pytest.mark.parametrize(
    ("model", "name"),
    [
        ("gpt-4o", "o200k_base"),
        ("openai/gpt-4o-mini", "o200k_base"),
        ("gpt-4.1-mini", "o200k_base"),
        ("gpt-5.4", "o200k_base"),
        ("o3", "o200k_base"),
        ("o4-mini", "o200k_base"),
        ("o1-preview", "o200k_base"),
        ("openai/some-future-model", "o200k_base"),
        ("openai/gpt-4", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("minimax/MiniMax-M3", "o200k_base"),   # measured closer for Chinese-trained vocabularies
        ("deepseek/deepseek-flash", "o200k_base"),
        ("deepseek-v4-flash", "cl100k_base"),
        ("anthropic/claude-sonnet-4-5", "cl100k_base"),
        ("kimi-k3", "cl100k_base"),
        ("omni-model", "cl100k_base"),
    ],
)
def test_encoding_choice(model: str, name: str):
    assert encoding_name_for(model) == name


# ------------------------------------------------------------------------------------------- messages


class _Message(pydantic.BaseModel):
    role: str
    content: str | None = None
    name: str | None = None


def test_message_conventions():
    # 3 per message + "user" (1) + "Hello" (1) + 3 reply priming
    assert pricing.count_tokens("gpt-4o", messages=[{"role": "user", "content": "Hello"}]) == 8
    # an object with model_dump() counts the same as its dict
    assert pricing.count_tokens("gpt-4o", messages=[_Message(role="user", content="Hello")]) == 8
    # name: 1 extra + its tokens ("bob" is 1)
    assert pricing.count_tokens("gpt-4o", messages=[{"role": "user", "content": "Hello", "name": "bob"}]) == 10
    assert pricing.count_tokens("gpt-4o", messages=[]) == 0


def test_content_parts_and_images():
    parts = [
        {"type": "text", "text": "Hello"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/x.png"}},
    ]
    # 3 + user 1 + Hello 1 + 2 images x 85 + 3
    assert pricing.count_tokens("gpt-4o", messages=[{"role": "user", "content": parts}]) == 178


def test_tool_calls_and_reasoning_are_counted():
    enc = load_encoding("o200k_base")
    call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
    message = {"role": "assistant", "content": None, "reasoning_content": "think", "tool_calls": [call]}
    expected = 3 + len(enc.encode("assistant")) + len(enc.encode("think"))
    expected += len(enc.encode('get_weather{"city": "Paris"}')) + 3
    assert pricing.count_tokens("gpt-4o", messages=[message]) == expected
    # arguments given as a dict are counted as their JSON
    call_dict = {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}
    message["tool_calls"] = [call_dict]
    assert pricing.count_tokens("gpt-4o", messages=[message]) == expected


def test_tools_are_counted_as_json():
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    with_tools = pricing.count_tokens("gpt-4o", messages=[{"role": "user", "content": "Hi"}], tools=tools)
    without = pricing.count_tokens("gpt-4o", messages=[{"role": "user", "content": "Hi"}])
    assert with_tools - without == pricing.count_tokens(
        "gpt-4o", text=('[{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]')
    )


def test_special_token_text_in_messages_does_not_raise():
    assert pricing.count_tokens("deepseek-chat", messages=[{"role": "user", "content": "<|endoftext|>"}]) > 8


def test_estimate_usage_counts_output_reasoning_and_tool_calls():
    enc = load_encoding("cl100k_base")
    calls = [{"function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]
    usage = pricing.estimate_usage(
        "minimax/MiniMax-M3",
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        output_text="It is sunny.",
        reasoning_text="The user wants the weather.",
        tool_calls=calls,
    )
    reasoning = len(enc.encode("The user wants the weather."))
    completion = len(enc.encode("It is sunny.")) + reasoning + len(enc.encode('get_weather{"city": "Paris"}'))
    prompt = pricing.count_tokens("minimax/MiniMax-M3", messages=[{"role": "user", "content": "Weather in Paris?"}])
    assert usage["prompt_tokens"] == prompt
    assert (usage["completion_tokens"], usage["reasoning_tokens"]) == (completion, reasoning)
    assert usage["total_tokens"] == prompt + completion and usage["estimated"] is True
    cost = pricing.cost("minimax/MiniMax-M3", usage)
    assert cost.estimated and cost.usage_source == "estimated"


# ------------------------------------------------------------------------------------ BPE file pinning


def test_corrupted_bpe_file_is_refused(tmp_path: Path):
    bad = tmp_path / "cl100k_base.tiktoken"
    shutil.copyfile(SPECS["cl100k_base"].path, bad)
    data = bytearray(bad.read_bytes())
    data[10] ^= 0x01
    bad.write_bytes(bytes(data))
    with pytest.raises(PricingError, match=r"corrupted: sha256 .* expected 2239"):
        load_encoding("cl100k_base", path=bad)


def test_missing_bpe_file_is_refused_not_downloaded(tmp_path: Path):
    with pytest.raises(PricingError, match=r"missing or unreadable.*never downloads"):
        load_encoding("o200k_base", path=tmp_path / "nope.tiktoken")


def test_malformed_bpe_file_with_matching_hash_is_refused(tmp_path: Path):
    path = tmp_path / "x.tiktoken"
    path.write_bytes(b"aGVsbG8= 0\nnot-base64!! 1\n")
    with pytest.raises(PricingError, match="malformed"):
        read_ranks(path, hashlib.sha256(path.read_bytes()).hexdigest())


def test_unknown_encoding_name():
    with pytest.raises(PricingError, match="unknown encoding"):
        load_encoding("p50k_base")


def test_preload_is_cached_and_thread_safe():
    results: list[object] = []

    def worker() -> None:
        pricing.preload_encodings()
        results.append(load_encoding("o200k_base"))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all(r is results[0] for r in results)


# --------------------------------------------------------------------------------------- subprocesses


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **env}
    full_env.pop("FAREBOX_PRICES", None)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_counts_tokens_with_no_network_and_empty_tiktoken_caches(tmp_path: Path):
    cache = tmp_path / "cache"
    cache.mkdir()
    result = _run(
        """
        import socket

        def refuse(*args, **kwargs):
            raise OSError("network disabled in this test")

        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse

        import tiktoken
        tiktoken.get_encoding = refuse  # pricing must build its encodings itself
        tiktoken.encoding_for_model = refuse

        import pricing
        pricing.preload_encodings()
        print(pricing.count_tokens("gpt-4o", text="hello world"))
        print(pricing.count_tokens("minimax/MiniMax-M3", messages=[{"role": "user", "content": "Hello"}]))
        """,
        TIKTOKEN_CACHE_DIR=str(cache),
        DATA_GYM_CACHE_DIR=str(cache),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2", "8"]
    assert list(cache.iterdir()) == []


def test_import_pricing_is_cheap():
    result = _run(
        """
        import sys
        import pricing

        heavy = {"pydantic", "tiktoken"}
        assert not heavy & set(sys.modules), sorted(heavy & set(sys.modules))
        assert issubclass(pricing.PricingError, ValueError)
        assert not heavy & set(sys.modules)
        pricing.price("gpt-4o")
        assert "pydantic" in sys.modules and "tiktoken" not in sys.modules
        pricing.count_tokens("gpt-4o", text="hi")
        assert not {"vendors", "router"} & {m.split(".")[0] for m in sys.modules}
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
