"""Host detection (docs/vendors.md §7.1 rows 1-65), spoofing, regions, and where a key may be sent (router.resolve)."""

from __future__ import annotations

import pytest

import vendors
from router.resolve import resolve
from vendors.errors import ConfigError
from vendors.registry import all_specs, detect_region

KEY = "sk-api-hosts-0123456789"


def detected(url: str) -> str | None:
    spec = vendors.detect(url)
    return spec.name if spec else None


# (row, url, vendor or None). Rows about vendors Farebox does not register (LongCat 49-50, Ollama Cloud
# 51-52, MiMo 53-55, Token Rhythm 56-57) must not be claimed by any registered vendor: None.
ROWS = [
    (1, "https://api.deepseek.com", "deepseek"),
    (2, "https://api.deepseek.com/v1", "deepseek"),
    (3, "https://api.deepseek.com/anthropic", "deepseek"),
    (4, "https://eu.deepseek.com/v1", "deepseek"),
    (5, "https://us.deepseek.com/v1", "deepseek"),
    (6, "https://deepseek.com/v1", None),
    (7, "https://deepseek.com", None),
    (8, "https://api.minimaxi.com/v1", "minimax"),  # IsDeepSeek false: it is MiniMax's
    (9, "https://api.openai.com/v1", "openai"),     # IsDeepSeek false: it is OpenAI's
    (10, "https://api.deepseek.io", None),
    (11, "https://deepseek.io", None),
    (12, "", None),
    (13, "not-a-url", None),
    (14, "https://api.minimaxi.com", "minimax"),
    (15, "https://api.minimaxi.com/v1", "minimax"),
    (16, "https://api.minimaxi.com/anthropic", "minimax"),
    (17, "https://eu.minimaxi.com/v1", "minimax"),
    (18, "https://us.minimaxi.com/v1", "minimax"),
    (19, "https://minimaxi.com/v1", None),
    (20, "https://minimaxi.com", None),
    (21, "https://api.deepseek.com", "deepseek"),   # IsMiniMax false
    (22, "https://api.openai.com/v1", "openai"),    # IsMiniMax false
    (23, "https://api.minimax.com/v1", None),
    (24, "https://api.minimax.example.com", None),
    (25, "", None),
    (26, "not-a-url", None),
    (27, "https://api.xiaomimimo.com/v1", None),
    # Row 29 is Reasonix's @113ed631 rule (false); Farebox follows the router proposal of rows 33-34 and
    # recognises the global apex too (so does Reasonix host_test.go @572bd01c).
    (29, "https://api.minimax.io/v1", "minimax"),
    (30, "https://API.MINIMAXI.COM/v1", "minimax"),
    (31, "https://api.minimaxi.com:443/v1", "minimax"),
    (32, "api.minimaxi.com/v1", None),
    (33, "https://api.minimax.io/v1", "minimax"),
    (33, "https://api.minimax.io/anthropic", "minimax"),
    (34, "https://api.minimaxi.com/v1", "minimax"),
    (35, "https://minimax.io", None),
    (35, "https://api.minimax.example.com", None),
    (36, "https://open.bigmodel.cn/api/paas/v4", "zhipu"),
    (37, "https://open.bigmodel.cn", "zhipu"),
    (38, "https://api.bigmodel.cn/v1", "zhipu"),
    (39, "https://api.z.ai/api/paas/v4", "zhipu"),
    (40, "https://api.z.ai", "zhipu"),
    (41, "https://open.z.ai/v1", "zhipu"),
    (42, "https://bigmodel.cn/v1", None),
    (43, "https://z.ai", None),
    (44, "https://api.deepseek.com", "deepseek"),
    (44, "https://api.minimaxi.com/v1", "minimax"),
    (44, "https://api.openai.com/v1", "openai"),
    (44, "", None),
    (44, "not-a-url", None),
    (45, "https://api.moonshot.cn/v1", "moonshot"),
    (45, "https://api.moonshot.ai/v1", "moonshot"),
    (45, "https://API.MOONSHOT.CN/v1/chat/completions", "moonshot"),
    (46, "https://moonshot.cn/v1", None),
    (46, "https://gateway.moonshot.cn/v1", None),
    (46, "https://opencode.ai/zen/go/v1", None),
    (46, "", None),
    (46, "not-a-url", None),
    (47, "https://api.openai.com/v1", "openai"),
    (47, "https://API.OPENAI.COM/v1", "openai"),
    (48, "https://platform.openai.com/v1", None),
    (48, "https://gateway.example/v1", None),
    (48, "not-a-url", None),
    (49, "https://api.longcat.chat/openai/v1", None),
    (49, "https://api.longcat.chat/anthropic", None),
    (49, "https://gateway.longcat.chat/openai/v1", None),
    (50, "https://longcat.chat/openai/v1", None),
    (50, "https://api.deepseek.com", "deepseek"),
    (50, "", None),
    (50, "not-a-url", None),
    (51, "https://ollama.com/v1", None),
    (51, "https://api.ollama.com/v1", None),
    (52, "https://localhost:11434/v1", None),
    (52, "http://127.0.0.1:11434/v1", None),
    (52, "https://api.openai.com/v1", "openai"),
    (52, "", None),
    (52, "not-a-url", None),
    (53, "https://api.xiaomimimo.com/v1", None),
    (53, "https://token-plan-cn.xiaomimimo.com/v1", None),
    (53, "https://token-plan-sgp.xiaomimimo.com/v1", None),
    (53, "https://token-plan-ams.xiaomimimo.com/v1", None),
    (54, "https://xiaomimimo.com/v1", None),
    (54, "https://api.deepseek.com", "deepseek"),
    (54, "", None),
    (54, "not-a-url", None),
    (55, "https://api.xiaomimimo.com.attacker.example/v1", None),
    (55, "https://example.com/?u=api.xiaomimimo.com", None),
    (56, "https://tokenrhythm.studio/v1", None),
    (56, "https://TOKENRHYTHM.STUDIO/v1", None),
    (57, "https://api.tokenrhythm.studio/v1", None),
    (57, "https://tokenrhythm.example.com/v1", None),
    (57, "https://opencode.ai/zen/go/v1", None),
    (57, "", None),
]


@pytest.mark.parametrize(("row", "url", "vendor"), ROWS, ids=[f"row{r}-{u or 'empty'}" for r, u, _ in ROWS])
def test_detect_rows(row: int, url: str, vendor: str | None) -> None:
    assert detected(url) == vendor


# Row 28: Reasonix's config-layer isMiniMaxEntry gives the same answers for rows 14-21, 24, 25, 27.
@pytest.mark.parametrize("row", [14, 15, 16, 17, 18, 19, 20, 21, 24, 25, 27])
def test_row28_entry_rule_matches_predicate(row: int) -> None:
    for r, url, vendor in ROWS:
        if r == row:
            assert (detected(url) == "minimax") == (vendor == "minimax")


SPOOFS = [
    "https://api.minimaxi.com.evil.example/v1",       # vendor host as a prefix of another domain
    "https://evil.example/api.minimaxi.com",          # vendor host in the path
    "https://api.minimaxi.com@evil.example/",         # vendor host as user-info
    "https://evil.example/?u=api.deepseek.com",       # vendor host in the query
    "https://evil.example#@api.deepseek.com",         # vendor host in the fragment
    "https://evil.example\\.api.deepseek.com/v1",     # backslash: parsers disagree on the host
    "https://api.deepseek.com\\@evil.example",
    "https://api.openai.com\t/v1",                    # embedded whitespace
    "https://api.deepseek.corn",                      # lookalike spelling
    "https://api.dееpseek.com/v1",                    # Cyrillic е in the apex
    "https://аpi.deepseek.com",                       # Cyrillic а in the label
    "https://api.minimaxі.com/v1",                    # Cyrillic і
    "https://xn--pi-7ba.deepseek.com",                # punycode label
    "https://api.xn--dpseek-5ya.com/v1",              # punycode apex
    "https://ｄeepseek.com",                          # full-width letter
    "https://api.deepseek.com%2eevil.example",        # percent-encoded dot
    "https://api.minimaxi。com/v1",                   # ideographic full stop
    "ftp://api.deepseek.com",                         # not http(s)
    "api.deepseek.com",                               # no scheme
    "//api.deepseek.com/v1",                          # scheme-relative
    "garbage",
    "https://[::1",                                   # malformed IPv6
    "",
    "   ",
]


@pytest.mark.parametrize("url", SPOOFS)
def test_spoofed_and_malformed_urls_detect_nothing(url: str) -> None:
    assert vendors.detect(url) is None


@pytest.mark.parametrize("value", [None, 42, b"https://api.deepseek.com", ["https://api.deepseek.com"]])
def test_non_strings_detect_nothing(value: object) -> None:
    assert vendors.detect(value) is None  # type: ignore[arg-type]


def test_trailing_dot_and_case_are_the_same_host() -> None:
    assert detected("https://api.deepseek.com./v1") == "deepseek"
    assert detected("HTTPS://Api.DeepSeek.COM/v1") == "deepseek"


# Rows 64-65: a bare model name plus a vendor base URL selects that vendor (the "flag" Reasonix sets).
@pytest.mark.parametrize(("model", "base", "vendor"), [
    ("MiniMax-M3", "https://api.minimaxi.com/v1", "minimax"),
    ("MiniMax-M3", "https://api.minimaxi.com", "minimax"),
    ("glm-5.2", "https://open.bigmodel.cn/api/paas/v4", "zhipu"),
    ("glm-5.2", "https://api.z.ai/api/paas/v4", "zhipu"),
])
def test_rows_64_65_host_selects_vendor(model: str, base: str, vendor: str) -> None:
    assert resolve(model, base_url=base, api_key=KEY).vendor == vendor


# Both MiniMax apexes, with the region each implies (rows 33-34, §1.1).
@pytest.mark.parametrize(("url", "region"), [
    ("https://api.minimaxi.com/v1", "cn"),
    ("https://api.minimaxi.com/anthropic", "cn"),
    ("https://eu.minimaxi.com/v1", "cn"),
    ("https://api.minimax.io/v1", "global"),
    ("https://api.minimax.io/anthropic", "global"),
])
def test_minimax_apex_regions(url: str, region: str) -> None:
    assert detect_region(vendors.get("minimax"), url) == region
    target = resolve("minimax/MiniMax-M3", base_url=url, api_key=KEY)
    assert (target.vendor, target.region) == ("minimax", region)
    assert target.url.startswith(url.rstrip("/"))


@pytest.mark.parametrize(("region", "wire", "url"), [
    ("cn", None, "https://api.minimaxi.com/v1/chat/completions"),
    ("global", None, "https://api.minimax.io/v1/chat/completions"),
    (None, None, "https://api.minimax.io/v1/chat/completions"),
    ("cn", "anthropic", "https://api.minimaxi.com/anthropic/v1/messages"),
    ("global", "anthropic", "https://api.minimax.io/anthropic/v1/messages"),
])
def test_minimax_default_base_url_per_region(region: str | None, wire: str | None, url: str) -> None:
    target = resolve("minimax/MiniMax-M3", region=region, wire=wire, api_key=KEY)
    assert target.url == url
    assert target.region == (region or "global")


def test_region_contradicting_the_host_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="contradicts"):
        resolve("minimax/MiniMax-M3", base_url="https://api.minimaxi.com/v1", region="global", api_key=KEY)
    with pytest.raises(ConfigError, match="contradicts"):
        resolve("moonshot/kimi-k3", base_url="https://api.moonshot.ai/v1", region="cn", api_key=KEY)
    target = resolve("minimax/MiniMax-M3", base_url="https://api.minimaxi.com/v1", region="cn", api_key=KEY)
    assert target.region == "cn"


def test_unknown_region_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown region"):
        resolve("openai/gpt-5.1", region="cn", api_key=KEY)


VENDOR_HOSTS = sorted((spec.name, host) for spec in all_specs() for host in spec.hosts)


@pytest.mark.parametrize(("vendor", "host"), VENDOR_HOSTS)
def test_plain_http_with_a_key_to_a_vendor_host_is_refused(vendor: str, host: str) -> None:
    model = f"{vendor}/{vendors.models(vendor)[0].id}"
    with pytest.raises(ConfigError, match="plain http"):
        resolve(model, base_url=f"http://{host}/v1", api_key=KEY)
    assert resolve(model, base_url=f"https://{host}/v1", api_key=KEY).vendor == vendor


@pytest.mark.parametrize("base", ["http://127.0.0.1:8000/v1", "http://localhost:8000/v1", "http://[::1]:8000/v1",
                                  "http://127.5.6.7/v1", "http://api.localhost:9/v1"])
def test_loopback_plain_http_is_fine(base: str) -> None:
    target = resolve("minimax/MiniMax-M3", base_url=base, api_key=KEY)
    assert target.url.startswith(base)
    assert target.headers["authorization"] == f"Bearer {KEY}"


def test_plain_http_to_a_non_vendor_host_is_the_callers_choice() -> None:
    # A LAN vLLM: no vendor key can leak there because no vendor host is involved.
    assert resolve("compatible/local", base_url="http://gpu-box.lan:8000/v1", api_key=KEY).vendor == "compatible"


PAIRS = [(a.name, b.name, host) for a in all_specs() for b in all_specs() if a.name != b.name
         for host in sorted(b.hosts)]


@pytest.mark.parametrize(("prefix", "owner", "host"), PAIRS)
def test_prefix_contradicting_host_is_refused(prefix: str, owner: str, host: str) -> None:
    """A key meant for one vendor is never sent to another vendor's host."""
    with pytest.raises(ConfigError, match="never sent to another vendor's host"):
        resolve(f"{prefix}/some-model", base_url=f"https://{host}/v1", api_key=KEY)


def test_the_host_decides_the_vendor_and_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINIMAX_API_KEY", "sk-api-minimax-env-000000")
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-deepseek-env-0000000")
    target = resolve("MiniMax-M3", base_url="https://api.deepseek.com")
    assert target.vendor == "deepseek"
    assert target.api_key == "sk-deepseek-env-0000000"
    assert resolve("MiniMax-M3").api_key == "sk-api-minimax-env-000000"


def test_user_info_in_base_url_is_refused() -> None:
    with pytest.raises(ConfigError, match="user-info"):
        resolve("minimax/MiniMax-M3", base_url="https://api.minimaxi.com@evil.example/v1", api_key=KEY)
    with pytest.raises(ConfigError, match="user-info"):
        resolve("gpt-5.1", base_url="https://user:pw@api.openai.com/v1", api_key=KEY)


@pytest.mark.parametrize("base", ["not a url", "api.deepseek.com/v1", "ftp://api.deepseek.com", "",
                                  "https://evil.example\\.api.deepseek.com/v1"])
def test_base_url_that_is_not_an_http_url_is_refused(base: str) -> None:
    with pytest.raises(ConfigError):
        resolve("deepseek/deepseek-v4-flash", base_url=base, api_key=KEY)


def test_lookalike_host_with_a_bare_model_is_just_a_compatible_server() -> None:
    target = resolve("my-model", base_url="https://api.deepseek.corn/v1", api_key=KEY)
    assert target.vendor == "compatible"
