"""Idle figures from the service wrapper's cgroup samples, judged against budgets."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.contract import Resources
from pipeline.contract.sizes import parse_cpu, parse_size
from pipeline.errors import ContractError
from pipeline.resources import idle_figures, judge_idle, parse_samples


def samples(cpu_per_second_usec: int, mem: int, *, start: float = 1000.0, count: int = 11) -> list[str]:
    return [json.dumps({"t": start + i * 0.5, "cpu_usec": 5_000_000 + i * cpu_per_second_usec // 2,
                        "mem_bytes": mem + i}) for i in range(count)]


def test_figures_are_mean_cpu_and_peak_memory_over_the_window() -> None:
    lines = samples(100_000, 50_000_000)  # 0.1 s of CPU per second = 100m
    figures = idle_figures(parse_samples(lines), 1000.0, 5)
    assert figures is not None
    assert figures.cpu_millicores == pytest.approx(100)
    assert figures.memory_bytes == 50_000_010
    assert figures.samples == 11


def test_samples_before_the_window_do_not_count() -> None:
    busy = [json.dumps({"t": 990 + i * 0.5, "cpu_usec": i * 1_000_000, "mem_bytes": 9**9})
            for i in range(10)]
    quiet = samples(0, 1000, start=1000)
    figures = idle_figures(parse_samples(busy + quiet), 1000.0, 5)
    assert figures is not None and figures.cpu_millicores == 0 and figures.memory_bytes == 1010


def test_a_budget_exceeded_is_a_high_finding_and_figures_are_always_reported() -> None:
    figures = idle_figures(parse_samples(samples(400_000, 300 * 2**20)), 1000.0, 5)
    findings = judge_idle("api", Resources(idle_cpu="250m", idle_memory="256Mi"), figures)
    rules = {f.rule_id: f for f in findings}
    assert set(rules) == {"runtime.idle-resources", "runtime.idle-cpu", "runtime.idle-memory"}
    assert rules["runtime.idle-cpu"].level.label == "high"
    assert "400m CPU while idle, budget 250m" in rules["runtime.idle-cpu"].message
    assert rules["runtime.idle-resources"].level.label == "info"
    within = judge_idle("api", Resources(idle_cpu="1", idle_memory="1Gi"), figures)
    assert [f.rule_id for f in within] == ["runtime.idle-resources"]


def test_a_budget_never_measured_is_not_a_pass() -> None:
    findings = judge_idle("api", Resources(idle_memory="256Mi"), None, why_none="it never became healthy")
    assert [f.rule_id for f in findings] == ["runtime.idle-resources", "runtime.idle-memory"]
    assert "never became healthy" in findings[0].message
    assert [f.rule_id for f in judge_idle("api", Resources(), None)] == ["runtime.idle-resources"]


def test_torn_and_foreign_lines_are_skipped() -> None:
    lines = ['{"t": 1, "cpu_usec": 1}', "garbage", '{"t": "x"}', '{"t": 2, "cpu_usec": "9"}', '{"t":3,']
    parsed = parse_samples(lines)
    assert [(s.t, s.cpu_usec) for s in parsed] == [(1.0, 1), (2.0, None)]
    assert idle_figures(parsed[:1], 0, 5) is None


def test_quantities_as_kubernetes_writes_them() -> None:
    assert parse_cpu("250m") == 250 and parse_cpu("0.5") == 500 and parse_cpu(2) == 2000
    assert parse_size("256Mi") == 256 * 2**20 and parse_size("1Gi") == 2**30
    for bad in ("-1", "abc", "0m", True, "1.5.2"):
        with pytest.raises(ValueError):
            parse_cpu(bad)


def test_resources_in_a_contract_file(tmp_path) -> None:
    from pipeline.contract import load_contract

    path = tmp_path / "pipeline.toml"
    path.write_text('[services.api]\ncontext = "."\nport = 8080\n'
                    'resources = { idle_cpu = "250m", idle_memory = "256Mi" }\n')
    spec = load_contract(path).services["api"]
    assert spec.resources.idle_cpu == 250 and spec.resources.idle_memory == 256 * 2**20
    path.write_text('[services.api]\ncontext = "."\nport = 8080\nresources = { idle_cpu = "lots" }\n')
    with pytest.raises(ContractError, match="services.api.resources.idle_cpu"):
        load_contract(path)


@given(st.lists(st.text(max_size=80), max_size=50), st.floats(allow_nan=False, allow_infinity=False))
def test_any_samples_file_gives_figures_or_none(lines: list[str], start: float) -> None:
    figures = idle_figures(parse_samples(lines), start, 5)
    assert figures is None or figures.samples >= 2
