"""Config files that are broken or hostile: a ConfigError naming the file and the problem, quickly."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import router
from router import errors
from tests.conftest import KEY

GOOD = '{"deployments": [{"alias": "a", "model": "openai/gpt-5.1", "api_key": "sk-x-123456"}]}'


def _refused(path: Path, *words: str) -> errors.ConfigError:
    started = time.perf_counter()
    with pytest.raises(errors.ConfigError) as info:
        router.Router.from_file(path)
    assert time.perf_counter() - started < 2.0
    text = str(info.value)
    assert str(path) in text, text
    for word in words:
        assert word in text, text
    assert info.value.__cause__ is None
    return info.value


def test_a_good_file_loads(tmp_path: Path) -> None:
    (tmp_path / "ok.json").write_text(GOOD)
    assert router.Router.from_file(tmp_path / "ok.json")


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_not_utf8(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"latin1{suffix}"
    path.write_bytes(GOOD.replace("gpt-5.1", "gpt-5.1-café").encode("latin-1"))
    _refused(path, "UTF-8")


@pytest.mark.parametrize(("suffix", "doc"), [(".json", "[" * 100_000 + "]" * 100_000),
                                             (".yaml", "[" * 50_000 + "]" * 50_000),
                                             (".json", '{"deployments": ' + "[" * 200 + "]" * 200 + "}")])
def test_deeply_nested(tmp_path: Path, suffix: str, doc: str) -> None:
    path = tmp_path / f"deep{suffix}"
    path.write_text(doc)
    _refused(path, "nested too deeply")


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_a_5000_digit_integer(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"bigint{suffix}"
    path.write_text('{"deployments": [], "num_retries": ' + "9" * 5000 + "}")
    _refused(path, "digits")


def test_a_yaml_alias_bomb(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    lines.append("deployments: *a9")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines))
    _refused(path, "values")


def test_many_aliases(tmp_path: Path) -> None:
    path = tmp_path / "aliases.yaml"
    path.write_text("x: &x 1\nlist: [" + ", ".join(["*x"] * 500) + "]\ndeployments: []\n")
    _refused(path, "aliases")


def test_a_huge_file(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    path.write_text('{"deployments": [], "pad": "' + "x" * (2 * 1024 * 1024) + '"}')
    _refused(path, "KiB")


def test_a_key_in_a_base_url_user_info_is_redacted(tmp_path: Path, capsys: Any) -> None:
    url = f"https://user:{KEY}@llm.example.com/v1"
    path = tmp_path / "userinfo.json"
    path.write_text('{"deployments": [{"alias": "a", "model": "compatible/m", "api_key": "sk-x-123456",'
                    f' "base_url": "{url}"}}]}}')
    with pytest.raises(errors.ConfigError) as info:  # when the Router is built, naming the deployment
        router.Router.from_file(path)
    exc = info.value
    assert "llm.example.com" in str(exc)
    texts = [str(exc), repr(exc), str(exc.args), exc.message, *(str(a) for a in getattr(exc, "attempts", []))]
    for text in texts:
        assert KEY not in text and "user:" not in text
    from router import cli

    assert cli.main(["complete", "-m", "compatible/m", "--base-url", url, "hi"]) == 2
    out = capsys.readouterr()
    assert "llm.example.com" in out.err
    assert KEY not in out.err + out.out
