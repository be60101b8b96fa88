"""The catalog is documented rule by rule, and keeps upstream's condition types and reasons."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.catalog.harness import bundled, bundled_names

DOCS = Path(__file__).parents[2] / "docs" / "catalog"
UPSTREAM = Path("/work/shared/compat/upstream-config")
# The upstream configs whose problems npd's bundled catalog replaces.
UPSTREAM_REPLACED = (
    "kernel-monitor.json",
    "readonly-monitor.json",
    "docker-monitor.json",
    "systemd-monitor.json",
)


@pytest.mark.parametrize("config", bundled_names())
def test_every_reason_has_a_section_in_its_configs_doc(config: str) -> None:
    doc = DOCS / config.replace(".json", ".md")
    assert doc.is_file(), f"{doc} is missing"
    headings = set(re.findall(r"^### (\S+)\s*$", doc.read_text(), re.MULTILINE))
    loaded = bundled(config)
    reasons = {rule.reason for rule in loaded.rules}
    assert reasons - headings == set(), f"undocumented in {doc.name}"
    assert headings - reasons == set(), f"documented in {doc.name} but no rule has the reason"


def test_the_catalog_index_lists_every_bundled_config() -> None:
    index = (DOCS / "README.md").read_text()
    for config in bundled_names():
        assert f"({config.replace('.json', '.md')})" in index, config


@pytest.mark.skipif(not UPSTREAM.is_dir(), reason=f"upstream configs are not at {UPSTREAM}")
def test_upstream_reasons_and_condition_types_are_kept() -> None:
    upstream_reasons: set[str] = set()
    upstream_conditions: set[str] = set()
    for name in UPSTREAM_REPLACED:
        document = json.loads((UPSTREAM / name).read_text())
        upstream_reasons |= {rule["reason"] for rule in document["rules"]}
        upstream_conditions |= {condition["type"] for condition in document["conditions"]}
    ours = [bundled(name) for name in bundled_names()]
    assert upstream_reasons - {rule.reason for config in ours for rule in config.rules} == set()
    assert upstream_conditions - {c.type for config in ours for c in config.conditions} == set()
