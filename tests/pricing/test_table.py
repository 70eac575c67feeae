"""The price table: shipped data, row validation, lookup by name/alias/time, overrides."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pydantic
import pytest

import pricing
import vendors
from pricing import AmbiguousModelPrice, PricingError, UnknownModelPrice
from pricing.table import DATA_DIR, load_table, read_price_file

# Every registered vendor but "compatible" (any server: it has no prices of its own) ships a price file.
VENDORS = set(vendors.names()) - {"compatible"}

GOOD_ROW = """
[[model]]
vendor = "acme"
id = "acme-1"
input_mtok = "1.00"
output_mtok = "2.00"
context_window = 1000
checked = 2026-11-21
source = "https://example.com/prices"
"""


@pytest.fixture(autouse=True)
def _clean_overrides(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("FAREBOX_PRICES", raising=False)
    pricing.reset_overrides()
    yield
    pricing.reset_overrides()


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------------------- shipped data


def test_every_vendor_has_a_file_and_rows():
    assert {p.stem for p in DATA_DIR.glob("*.toml")} == VENDORS
    assert {m.vendor for m in pricing.models()} == VENDORS


def test_every_shipped_row_is_dated_and_sourced():
    for row in load_table():
        assert row.checked >= date(2026, 1, 1), row.key
        assert row.source.startswith("https://"), row.key
        assert row.context_window > 0
        assert row.max_output is None or row.max_output <= row.context_window, row.key


def test_models_lists_one_current_row_per_model():
    rows = pricing.models()
    keys = [m.key for m in rows]
    assert keys == sorted(keys) and len(keys) == len(set(keys))
    pro = next(m for m in pricing.models("deepseek") if m.id == "deepseek-v4-pro")
    assert pro.input == Decimal("0.66")  # the current off-peak base, not the finished promo
    assert {m.vendor for m in pricing.models("minimax")} == {"minimax"}


@pytest.mark.parametrize(
    ("vendor", "ids"),
    [
        (
            "minimax",
            {
                "MiniMax-M3",
                "MiniMax-M2.7",
                "MiniMax-M2.7-highspeed",
                "MiniMax-M2.5",
                "MiniMax-M2.1",
                "MiniMax-M2.5-highspeed",
                "MiniMax-M2.1-highspeed",
                "MiniMax-M2.1-lightning",
                "MiniMax-M2",
            },
        ),
        ("deepseek", {"deepseek-flash", "deepseek-v4-pro"}),
        ("zhipu", {"glm-5.2", "glm-5.1", "glm-5", "glm-4.7", "glm-4.6", "glm-4.7-flash", "glm-4.5-air"}),
        ("moonshot", {"kimi-k3", "kimi-k2.6", "kimi-k2.5"}),
        (
            "openai",
            {
                "gpt-5.1",
                "gpt-5",
                "gpt-5-mini",
                "gpt-5-nano",
                "gpt-4.1",
                "gpt-4.1-mini",
                "gpt-4o",
                "gpt-4o-mini",
                "o3",
                "o4-mini",
            },
        ),
        ("anthropic", {"claude-opus-4-1", "claude-sonnet-4-5", "claude-haiku-4-5", "claude-3-5-haiku"}),
    ],
)
def test_required_models_are_priced(vendor: str, ids: set[str]):
    assert ids <= {m.id for m in pricing.models(vendor)}


def test_free_model_is_priced_zero_not_missing():
    row = pricing.price("zhipu/glm-4.7-flash")
    assert (row.input, row.output) == (Decimal("0"), Decimal("0"))


def test_model_price_is_frozen_and_serialises_decimals_as_strings():
    row = pricing.price("minimax/MiniMax-M2.1")
    with pytest.raises(pydantic.ValidationError):
        row.input = Decimal("9")  # type: ignore[misc]
    data = json.loads(row.model_dump_json())
    assert data["input"] == "0.30" and data["cache_write"] == "0.375"
    assert row.as_of == row.checked


# --------------------------------------------------------------------------------------------- lookup


@pytest.mark.parametrize(
    ("name", "kwargs", "key", "alias"),
    [
        ("minimax/MiniMax-M2.5", {}, "minimax/MiniMax-M2.5", None),
        ("MiniMax-M2.5", {}, "minimax/MiniMax-M2.5", None),
        ("minimax-m2.5", {}, "minimax/MiniMax-M2.5", None),
        ("MiniMax/MiniMax-M2.5", {}, "minimax/MiniMax-M2.5", None),
        ("MiniMax-M2.5", {"vendor": "minimax"}, "minimax/MiniMax-M2.5", None),
        ("minimax/MiniMax-M2.5", {"vendor": "minimax"}, "minimax/MiniMax-M2.5", None),
        ("deepseek-chat", {}, "deepseek/deepseek-flash", "deepseek-chat"),
        ("deepseek/deepseek-reasoner", {}, "deepseek/deepseek-flash", "deepseek-reasoner"),
        ("DEEPSEEK-CHAT", {}, "deepseek/deepseek-flash", "deepseek-chat"),
        ("deepseek-v4-flash", {}, "deepseek/deepseek-flash", "deepseek-v4-flash"),
        ("MiniMax-M2-Stable", {}, "minimax/MiniMax-M2", "MiniMax-M2-Stable"),
        ("claude-sonnet-4-5-20250929", {}, "anthropic/claude-sonnet-4-5", "claude-sonnet-4-5-20250929"),
        ("gpt-4o-mini-2024-07-18", {}, "openai/gpt-4o-mini", "gpt-4o-mini-2024-07-18"),
    ],
)
def test_price_resolves_ids_prefixes_and_aliases(name, kwargs, key, alias):
    row = pricing.price(name, **kwargs)
    assert (row.key, row.alias_used) == (key, alias)


def test_lightning_is_its_own_row_with_its_own_output_price():
    assert pricing.price("MiniMax-M2.1-lightning").output == Decimal("2.40")
    assert pricing.price("MiniMax-M2.1").output == Decimal("1.20")


@pytest.mark.parametrize(
    ("model", "at", "input_", "cache_read"),
    [
        ("minimax/MiniMax-M3", datetime(2026, 6, 1, tzinfo=UTC), "0.30", "0.06"),
        ("minimax/MiniMax-M3", datetime(2026, 6, 7, 23, 59, 59, tzinfo=UTC), "0.30", "0.06"),
        ("minimax/MiniMax-M3", datetime(2026, 6, 8, tzinfo=UTC), "0.30", "0.06"),
        ("minimax/MiniMax-M3", date(2026, 7, 1), "0.30", "0.06"),
        ("deepseek-v4-flash", datetime(2026, 4, 26, 12, 14, 59, tzinfo=UTC), "0.14", "0.028"),
        ("deepseek-v4-flash", datetime(2026, 4, 26, 12, 15, tzinfo=UTC), "0.14", "0.0028"),
        ("deepseek-v4-pro", datetime(2026, 4, 1, tzinfo=UTC), "0.435", "0.03625"),
        ("deepseek-v4-pro", datetime(2026, 5, 31, 15, 59, 59, tzinfo=UTC), "0.435", "0.003625"),
        ("deepseek-v4-pro", datetime(2026, 5, 31, 16, 0, tzinfo=UTC), "0.435", "0.003625"),
        ("deepseek-v4-pro", datetime(2026, 8, 16, 15, 59, 59, tzinfo=UTC), "0.435", "0.003625"),
        ("deepseek-v4-pro", datetime(2026, 8, 16, 16, 0), "0.66", "0.022"),  # naive = UTC
        ("deepseek-flash", datetime(2026, 9, 9, 23, 59, 59, tzinfo=UTC), "0.22", "0.007"),
        ("deepseek-flash", datetime(2026, 9, 10, tzinfo=UTC), "0.15", "0.003"),
        ("o3", datetime(2025, 5, 1, tzinfo=UTC), "10.00", "2.50"),
        ("o3", datetime(2025, 7, 1, tzinfo=UTC), "2.00", "0.50"),
    ],
)
def test_at_picks_the_row_valid_then(model, at, input_, cache_read):
    row = pricing.price(model, at=at)
    assert (row.input, row.cache_read) == (Decimal(input_), Decimal(cache_read))


def test_no_row_valid_at_that_time_is_unknown():
    with pytest.raises(UnknownModelPrice, match=r"MiniMax-M3 valid at 2026-05-01.*known windows"):
        pricing.price("MiniMax-M3", at=datetime(2026, 5, 1, tzinfo=UTC))


def test_unknown_model_names_the_nearest_ids_and_how_to_add_a_price():
    with pytest.raises(UnknownModelPrice) as info:
        pricing.price("MiniMax-M2.6")
    message = str(info.value)
    assert isinstance(info.value, LookupError)
    assert "minimax/MiniMax-M2.7" in message and "minimax/MiniMax-M2.5" in message
    assert "load_overrides" in message and "FAREBOX_PRICES" in message
    assert "minimax/MiniMax-M2.7" in info.value.suggestions


def test_unknown_vendor_is_unknown():
    with pytest.raises(UnknownModelPrice, match="no prices known for vendor 'nosuch'"):
        pricing.price("gpt-4o", vendor="nosuch")


def test_typo_in_alias_suggests_the_model():
    with pytest.raises(UnknownModelPrice, match="deepseek/deepseek-flash"):
        pricing.price("deepseek-chatt")


# ----------------------------------------------------------------------------------------- bad files


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('input_mtok = "0.1"\ncontext_window = 10\nchecked = 2026-01-01\nsource = "x"', r"output_mtok.*Field required"),
        ('input_mtok = 0.1\noutput_mtok = "1"\ncontext_window = 10\nchecked = 2026-01-01\nsource = "x"', "strings"),
        (
            'input_mtok = "-0.5"\noutput_mtok = "1"\ncontext_window = 10\nchecked = 2026-01-01\nsource = "x"',
            "negative price",
        ),
        (
            'input_mtok = "abc"\noutput_mtok = "1"\ncontext_window = 10\nchecked = 2026-01-01\nsource = "x"',
            "not a decimal",
        ),
        (
            'input_mtok = "1"\noutput_mtok = "1"\ncontext_window = 10\nchecked = 2026-01-01\nsource = "x"\ncolour = 1',
            r"colour.*Extra inputs",
        ),
        (
            'input_mtok = "1"\noutput_mtok = "1"\ncontext_window = 0\nchecked = 2026-01-01\nsource = "x"',
            "context_window",
        ),
        (
            'input_mtok = "1"\noutput_mtok = "1"\ncontext_window = 10\nchecked = 2026-01-01\nsource = "x"\n'
            "valid_from = 2026-02-01\nvalid_until = 2026-01-01",
            "valid_from must be before valid_until",
        ),
        (
            'input_mtok = "1"\noutput_mtok = "1"\ncontext_window = 10\nchecked = 2026-01-01\nsource = "x"\n'
            'tiers = [{ above_tokens = 5, input_mtok = "2", output_mtok = "2" }, '
            '{ above_tokens = 3, input_mtok = "3", output_mtok = "3" }]',
            "strictly increasing",
        ),
        (
            'input_mtok = "1"\noutput_mtok = "1"\ncontext_window = 10\nchecked = 2026-01-01\nsource = "x"\n'
            'tiers = [{ above_tokens = 5, input_mtok = "-2", output_mtok = "2" }]',
            r"tiers\.0\.input_mtok.*negative",
        ),
    ],
)
def test_bad_row_names_file_row_and_field(tmp_path: Path, body: str, expected: str):
    bad = f'[[model]]\nvendor = "acme"\nid = "acme-2"\n{body}\n'
    path = _write(tmp_path, "acme.toml", GOOD_ROW + bad)
    with pytest.raises(PricingError, match=expected) as info:
        load_table(tmp_path)
    assert str(path) in str(info.value)
    assert "row 2 (acme/acme-2)" in str(info.value)


def test_pricing_error_is_a_value_error(tmp_path: Path):
    _write(tmp_path, "acme.toml", "[[model]]\nvendor = 'acme'\n")
    with pytest.raises(ValueError, match="row 1"):
        load_table(tmp_path)


def test_toml_syntax_error_names_the_file(tmp_path: Path):
    path = _write(tmp_path, "acme.toml", "[[model]\nvendor = ")
    with pytest.raises(PricingError, match="not valid TOML") as info:
        load_table(tmp_path)
    assert str(path) in str(info.value)


def test_row_vendor_must_match_the_file_name(tmp_path: Path):
    _write(tmp_path, "other.toml", GOOD_ROW)
    with pytest.raises(PricingError, match=r"other.toml: row 1 \(acme/acme-1\): vendor must be 'other'"):
        load_table(tmp_path)


def test_duplicate_rows_with_overlapping_windows_fail(tmp_path: Path):
    path = _write(tmp_path, "acme.toml", GOOD_ROW + GOOD_ROW.replace('"1.00"', '"1.50"'))
    with pytest.raises(PricingError, match=r"duplicate price for acme/acme-1.*overlap") as info:
        load_table(tmp_path)
    assert str(path) in str(info.value)


def test_dated_history_without_overlap_is_fine(tmp_path: Path):
    first = GOOD_ROW.replace('source = "https://example.com/prices"', 'source = "s"\nvalid_until = 2026-03-01')
    second = GOOD_ROW.replace('"1.00"', '"1.50"').replace(
        'source = "https://example.com/prices"', 'source = "s"\nvalid_from = 2026-03-01'
    )
    _write(tmp_path, "acme.toml", first + second)
    assert [r.input for r in load_table(tmp_path)] == [Decimal("1.00"), Decimal("1.50")]


def test_partially_overlapping_windows_fail(tmp_path: Path):
    first = GOOD_ROW + "valid_until = 2026-03-02\n"
    second = GOOD_ROW + "valid_from = 2026-03-01\n"
    _write(tmp_path, "acme.toml", first + second)
    with pytest.raises(PricingError, match="overlap"):
        load_table(tmp_path)


def test_alias_naming_another_model_fails(tmp_path: Path):
    other = GOOD_ROW.replace('id = "acme-1"', 'id = "acme-2"\naliases = ["acme-1"]')
    _write(tmp_path, "acme.toml", GOOD_ROW + other)
    with pytest.raises(PricingError, match="alias 'acme-1' of acme/acme-2 already names acme/acme-1"):
        load_table(tmp_path)


def test_file_with_unknown_top_level_keys_fails(tmp_path: Path):
    _write(tmp_path, "acme.toml", "[prices]\nx = 1\n")
    with pytest.raises(PricingError, match="expected only"):
        load_table(tmp_path)


# ------------------------------------------------------------------------------------------ overrides


def _row(**changes) -> dict:
    row = {
        "vendor": "compatible",
        "id": "llama-local",
        "input_mtok": "0.10",
        "output_mtok": "0.20",
        "context_window": 8192,
        "checked": "2026-11-21",
        "source": "internal",
    }
    row.update(changes)
    return row


def test_override_mapping_adds_a_new_vendor():
    loaded = pricing.load_overrides({"model": [_row()]})
    assert [r.key for r in loaded] == ["compatible/llama-local"]
    assert pricing.price("compatible/llama-local").output == Decimal("0.20")
    assert "compatible" in {m.vendor for m in pricing.models()}


def test_user_row_replaces_the_shipped_history():
    pricing.load_overrides({"model": [_row(vendor="deepseek", id="deepseek-v4-pro", input_mtok="9")]})
    assert pricing.price("deepseek-v4-pro").input == Decimal("9")
    assert pricing.price("deepseek-v4-pro", at=datetime(2026, 4, 1, tzinfo=UTC)).input == Decimal("9")
    pricing.reset_overrides()
    assert pricing.price("deepseek-v4-pro").input == Decimal("0.66")


def test_override_files_toml_and_json(tmp_path: Path):
    toml_path = _write(tmp_path, "p.toml", GOOD_ROW)
    json_path = tmp_path / "p.json"
    json_path.write_text(json.dumps({"model": [_row(id="from-json", input_mtok="0.5")]}))
    for path in (toml_path, json_path):
        pricing.load_overrides(path)
    assert pricing.price("acme-1").input == Decimal("1.00")
    assert pricing.price("from-json").input == Decimal("0.5")


def test_override_file_yaml(tmp_path: Path):
    pytest.importorskip("yaml")
    yaml_path = _write(
        tmp_path,
        "p.yaml",
        """
        model:
          - vendor: compatible
            id: from-yaml
            input_mtok: "0.25"
            output_mtok: "0.75"
            context_window: 4096
            checked: 2026-11-21
            source: internal
        """,
    )
    pricing.load_overrides(yaml_path)
    assert pricing.price("compatible/from-yaml").output == Decimal("0.75")


def test_json_number_prices_stay_exact(tmp_path: Path):
    path = tmp_path / "p.json"
    path.write_text(
        '{"model": [{"vendor": "compatible", "id": "x", "input_mtok": 0.1, "output_mtok": 0.3,'
        ' "context_window": 10, "checked": "2026-11-21", "source": "s"}]}'
    )
    pricing.load_overrides(path)
    assert pricing.price("compatible/x").input == Decimal("0.1")


def test_bad_override_raises_and_keeps_the_previous_table():
    pricing.load_overrides({"model": [_row()]})
    with pytest.raises(PricingError, match=r"overrides: row 1 \(compatible/bad\).*negative"):
        pricing.load_overrides({"model": [_row(id="bad", input_mtok="-1")]})
    clash = _row(vendor="deepseek", id="deepseek-v9", aliases=["deepseek-chat"])
    with pytest.raises(PricingError, match="alias 'deepseek-chat'"):
        pricing.load_overrides({"model": [clash]})
    assert pricing.price("deepseek-chat").id == "deepseek-flash"
    assert pricing.price("compatible/llama-local").input == Decimal("0.10")


def test_same_id_at_two_vendors_is_ambiguous_when_bare():
    pricing.load_overrides({"model": [_row(id="deepseek-flash")]})
    with pytest.raises(AmbiguousModelPrice, match="compatible/deepseek-flash, deepseek/deepseek-flash"):
        pricing.price("deepseek-flash")
    assert pricing.price("compatible/deepseek-flash").input == Decimal("0.10")
    assert pricing.price("deepseek-flash", vendor="deepseek", at=date(2026, 5, 1)).input == Decimal("0.14")


def test_farebox_prices_env_var_is_applied_on_first_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = _write(tmp_path, "mine.toml", GOOD_ROW)
    monkeypatch.setenv("FAREBOX_PRICES", str(path))
    pricing.reset_overrides()
    assert pricing.price("acme/acme-1").input == Decimal("1.00")
    loaded = pricing.load_overrides({"model": [_row(vendor="acme", id="acme-1", input_mtok="2")]})
    assert loaded[0].input == Decimal("2")
    assert pricing.price("acme/acme-1").input == Decimal("2")  # explicit overrides beat the env file


def test_broken_env_file_fails_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FAREBOX_PRICES", str(tmp_path / "missing.toml"))
    pricing.reset_overrides()
    with pytest.raises(PricingError, match=r"missing\.toml"):
        pricing.price("gpt-4o")


def test_read_price_file_rejects_unknown_extensions(tmp_path: Path):
    path = _write(tmp_path, "p.ini", "x")
    with pytest.raises(PricingError, match="unknown price file type"):
        read_price_file(path)
