"""The feed specs (assets/feeds/*.yaml) and the suites (expectations/*.json) state each fact once:
what the spec says and what the suite enforces must agree."""

import json

import pytest

from jn_credit_dagster.lib.common import paths
from jn_credit_dagster.lib.ingest.specs import load_specs


@pytest.mark.parametrize("feed", sorted(load_specs()))
def test_required_columns_are_the_suites_not_null_expectations(feed):
    spec = load_specs()[feed]
    suite = json.loads((paths.SUITES / f"{feed}.json").read_text(encoding="utf-8"))
    not_null = {e["kwargs"]["column"] for e in suite["expectations"]
                if e["type"] == "expect_column_values_to_not_be_null" and e["kwargs"].get("mostly", 1) == 1}
    assert not_null == {c.name for c in spec.columns if c.required}


def test_every_subject_column_holds_a_uscc():
    specs = load_specs()
    named = {(feed, s.uscc) for feed, spec in specs.items() for s in spec.subjects}
    assert named, "the subject master needs feeds that name subjects"
    for feed, column in named:
        (col,) = [c for c in specs[feed].columns if c.name == column]
        assert col.type == "uscc" or col.header == "统一社会信用代码", (feed, column)


def test_a_subject_naming_an_unknown_column_is_refused(tmp_path):
    text = (paths.FEED_SPECS / "penalty.yaml").read_text(encoding="utf-8")
    (tmp_path / "penalty.yaml").write_text(text.replace("{uscc: uscc, name: subject_name}",
                                                        "{uscc: uscc, name: no_such_column}"), encoding="utf-8")
    with pytest.raises(ValueError, match="subject .* names unknown columns"):
        load_specs(tmp_path)
