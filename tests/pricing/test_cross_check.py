"""Independent cross-check: genai-prices prices the same token mixes at the same instants as the shipped table.

Every model both tables know is priced for fixed token mixes at several instants (DeepSeek peak, off-peak,
weekend and holiday hours; a second before and at every dated change either table records). A disagreement
fails unless tests/pricing/genai_prices_exceptions.toml lists it with its reason; an exception that no longer
matches a disagreement fails too, so the file stays reviewed. Runs offline on the data in genai-prices' wheel.
"""

from __future__ import annotations

import socket
import tomllib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

genai_prices = pytest.importorskip("genai_prices")  # in the dev extra, so CI always runs this

import pricing  # noqa: E402
from pricing import UnknownModelPrice  # noqa: E402
from pricing import genai as bridge  # noqa: E402
from pricing.table import load_table  # noqa: E402

EXCEPTIONS = Path(__file__).with_name("genai_prices_exceptions.toml")

# Fixed mixes (prompt includes cache reads and writes, as Farebox counts them).
MIXES = {
    "small": {"prompt_tokens": 1_000, "completion_tokens": 100},
    "cached": {"prompt_tokens": 100_000, "cached_tokens": 40_000, "completion_tokens": 2_000},
    "cache-write": {"prompt_tokens": 20_000, "cache_write_tokens": 5_000, "cached_tokens": 5_000,
                    "completion_tokens": 1_000},
    "long": {"prompt_tokens": 600_000, "cached_tokens": 100_000, "completion_tokens": 10_000},
}
FIXED = {
    "weekday-peak": datetime(2026, 11, 30, 2, tzinfo=UTC),        # Monday 10:00 Beijing
    "weekday-off-peak": datetime(2026, 11, 30, 12, tzinfo=UTC),
    "weekend-peak-hour": datetime(2026, 11, 28, 2, tzinfo=UTC),   # Saturday
    "holiday-peak-hour": datetime(2026, 10, 1, 2, tzinfo=UTC),    # National Day, a Thursday
}


def _genai_usage(mix: dict[str, int]) -> Any:
    return genai_prices.Usage(input_tokens=mix["prompt_tokens"], output_tokens=mix["completion_tokens"],
                              cache_read_tokens=mix.get("cached_tokens", 0),
                              cache_write_tokens=mix.get("cache_write_tokens", 0))


def _instants(key: tuple[str, str], info: Any) -> dict[str, datetime]:
    """The fixed instants, and a second before and at each dated change either table knows of."""
    out = dict(FIXED)
    changes = [r.valid_from for r in load_table() if (r.vendor, r.id) == key and r.valid_from]
    changes += [r.valid_until for r in load_table() if (r.vendor, r.id) == key and r.valid_until]
    for conditional in info.prices if isinstance(info.prices, list) else ():
        start = getattr(conditional.constraint, "start_date", None)
        if start is not None:
            changes.append(start if isinstance(start, datetime) else datetime(start.year, start.month, start.day,
                                                                             tzinfo=UTC))
    for change in changes:
        change = change if change.tzinfo else change.replace(tzinfo=UTC)
        # at 02:00 UTC on the change's day too, so a daily window meets the change
        for label, moment in ((f"before {change:%Y-%m-%dT%H:%M}", change - timedelta(seconds=1)),
                              (f"at {change:%Y-%m-%dT%H:%M}", change)):
            out[label] = moment
        peak_hour = change.replace(hour=2, minute=0, second=0)
        peak_hour = peak_hour if peak_hour >= change else peak_hour + timedelta(days=1)
        out[f"02:00 after {change:%Y-%m-%dT%H:%M}"] = peak_hour
    return out


def _pairs() -> list[tuple[tuple[str, str], str, Any]]:
    """(Farebox key, name, genai-prices ModelInfo) for every shipped id and alias genai-prices knows."""
    rows = load_table()
    names = sorted({(r.vendor, r.id, n) for r in rows for n in (r.id, *r.aliases)})
    return [((v, i), n, info) for v, i, n in names if (info := bridge.find(v, n)) is not None]


def _disagreements() -> list[dict[str, Any]]:
    found = []
    for key, name, info in _pairs():
        provider = bridge.PROVIDERS[key[0]]
        for label, moment in _instants(key, info).items():
            for mix_name, mix in MIXES.items():
                try:
                    ours = pricing.cost(f"{key[0]}/{name}", mix, at=moment).total
                except UnknownModelPrice:
                    continue  # no Farebox row then (before the model's first price): nothing to compare
                theirs = genai_prices.calc_price(_genai_usage(mix), name, provider_id=provider,
                                                 genai_request_timestamp=moment).total_price
                if ours != theirs:
                    found.append({"model": f"{key[0]}/{name}", "instant": label, "at": moment, "mix": mix_name,
                                  "farebox": ours, "genai_prices": Decimal(theirs)})
    return found


def _bound(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _excused(item: dict[str, Any], rule: dict[str, Any]) -> bool:
    """A rule names a model (glob), and optionally instants (glob on the label), a mix, and [from, until)."""
    return (fnmatchcase(item["model"], rule["model"]) and fnmatchcase(item["instant"], rule.get("instant", "*"))
            and fnmatchcase(item["mix"], rule.get("mix", "*"))
            and ("from" not in rule or item["at"] >= _bound(rule["from"]))
            and ("until" not in rule or item["at"] < _bound(rule["until"])))


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No socket may connect while prices are looked up: genai-prices must use its bundled data."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network access during a price lookup: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_exceptions_file_is_well_formed() -> None:
    rules = tomllib.loads(EXCEPTIONS.read_text(encoding="utf-8"))["exception"]
    for rule in rules:
        assert set(rule) <= {"model", "instant", "mix", "from", "until", "reason"}, rule
        assert len(rule.get("reason", "")) > 20, f"exception without a reviewed reason: {rule}"


def test_both_tables_agree_or_the_difference_is_a_reviewed_exception(offline: None) -> None:
    rules = tomllib.loads(EXCEPTIONS.read_text(encoding="utf-8"))["exception"]
    found = _disagreements()
    unexplained = [d for d in found if not any(_excused(d, r) for r in rules)]
    stale = [r for r in rules if not any(_excused(d, r) for d in found)]
    lines = [f"  {d['model']} {d['instant']} ({d['at']:%Y-%m-%dT%H:%M:%S}) {d['mix']}: farebox {d['farebox']} "
             f"!= genai-prices {d['genai_prices']}" for d in unexplained]
    assert not unexplained, "disagreements with genai-prices; fix the row or add a reviewed exception:\n" + "\n".join(
        lines)
    assert not stale, f"exceptions that no longer match any disagreement (remove them): {stale}"


def test_enough_models_are_compared() -> None:
    compared = {f"{v}/{n}" for (v, _), n, _ in _pairs()}
    for must in ("deepseek/deepseek-flash", "deepseek/deepseek-v4-pro", "openai/gpt-5.5", "minimax/MiniMax-M3",
                 "anthropic/claude-sonnet-4-5"):
        assert must in compared, f"{must} is not compared with genai-prices"


def test_models_genai_prices_knows_and_farebox_does_not_are_printed(capsys: pytest.CaptureFixture[str]) -> None:
    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    assert not snapshot.from_auto_update
    known = {(r.vendor, r.id.lower()) for r in load_table()} | {
        (r.vendor, a.lower()) for r in load_table() for a in r.aliases}
    missing = []
    for vendor, provider_id in bridge.PROVIDERS.items():
        provider = next(p for p in snapshot.providers if p.id == provider_id)
        missing += [f"{vendor}/{m.id}" for m in provider.models if (vendor, m.id.lower()) not in known]
    with capsys.disabled():
        print(f"\ngenai-prices {genai_prices.__version__} knows {len(missing)} models of Farebox's vendors that "
              f"the shipped table does not: {', '.join(sorted(missing))}")
    assert missing  # the listing itself is the point; it is never empty while genai-prices covers more


# --------------------------------------------------------------------------------- the fallback (extra `prices`)


def test_a_model_missing_from_the_table_is_priced_from_genai_prices(offline: None) -> None:
    row = pricing.price("anthropic/claude-opus-4-8")
    assert (row.source, row.third_party, row.checked) == ("genai-prices", True, None)
    cost = pricing.cost("anthropic/claude-opus-4-8", {"prompt_tokens": 1_000_000, "completion_tokens": 1_000_000})
    assert cost.source == "genai-prices" and cost.total == Decimal(30)   # 5 + 25, as genai-prices bills it
    long = pricing.cost("openai/gpt-5.4-pro", {"prompt_tokens": 300_000})
    assert long.tier_above_tokens == 272000


def test_the_shipped_table_wins_where_it_has_the_model(offline: None) -> None:
    cost = pricing.cost("minimax/MiniMax-M3", {"prompt_tokens": 1_000})
    assert cost.source != "genai-prices" and cost.total == Decimal("0.0003")
    assert pricing.price("deepseek/deepseek-chat").source.startswith("https://api-docs.deepseek.com")


def test_no_fallback_for_a_bare_name_or_a_self_hosted_model() -> None:
    with pytest.raises(UnknownModelPrice):
        pricing.price("claude-opus-4-8")          # which vendor's? not guessed
    with pytest.raises(UnknownModelPrice):
        pricing.price("compatible/gpt-5.4-pro")   # a local server is not priced at a vendor's rate
