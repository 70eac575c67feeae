"""Secrets: a key registered after a text was seen is still redacted from it; no memo keeps a key."""

from __future__ import annotations

from vendors import secrets
from vendors.secrets import looks_like_key, redact_url, register_secret


def test_a_key_registered_later_is_redacted_from_a_text_seen_before() -> None:
    key = "sk-memo-test-0123456789abcdef"
    text = f"https://api.example.test/v1?note={key}"
    assert redact_url(text) == text          # not a secret yet: nothing to redact, and remembered as clean
    register_secret(key)
    assert key not in redact_url(text)       # the memo was emptied when the key was registered
    assert all(key not in t for t in secrets._clean_urls)


def test_user_info_is_redacted_and_never_remembered() -> None:
    text = "https://user:sk-userinfo-0123456789abcdef@host.example/v1"
    assert "sk-userinfo" not in redact_url(text)
    assert text not in secrets._clean_urls


def test_a_key_passed_as_a_model_name_is_found_every_time_and_never_remembered() -> None:
    key = "sk-ant-api03-" + "x" * 40
    assert looks_like_key(f"anthropic/{key}") == key
    assert looks_like_key(f"anthropic/{key}") == key
    assert all(key not in t for t in secrets._not_keys)
    assert looks_like_key("anthropic/claude-sonnet-4-6") is None
    assert "anthropic/claude-sonnet-4-6" in secrets._not_keys
