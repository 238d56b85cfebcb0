import pytest

from mhhs_sit.definitions import templating
from mhhs_sit.errors import StepDefinitionError


def test_single_expression_keeps_the_value_type():
    assert templating.render("{{ n }}", {"n": 42}) == 42
    assert templating.render({"a": ["{{ xs }}"]}, {"xs": [1, 2]}) == {"a": [[1, 2]]}


def test_mixed_text_and_paths_with_indexes():
    ctx = {"cohort": {"SUP": {"mpid": "SUPA"}}, "rows": [{"id": 7}]}
    assert templating.render("S-{{ cohort.SUP.mpid }}-{{ rows[0].id }}", ctx) == "S-SUPA-7"


def test_keys_are_rendered_too():
    assert templating.render({"{{ k }}": 1}, {"k": "x"}) == {"x": 1}


def test_filters():
    assert templating.render("{{ d | plus_days(2) }}", {"d": "2026-02-27"}) == "2026-03-01"
    assert templating.render("{{ s | upper }}", {"s": "ab"}) == "AB"
    assert templating.render("{{ m.missing | default('z') }}", {"m": {}}) == "z"


def test_unknown_name_is_a_step_definition_error_listing_known_names():
    with pytest.raises(StepDefinitionError, match=r"names 'mpn'.*mpan"):
        templating.render("{{ mpn }}", {"mpan": "1"})


def test_missing_key_names_the_path_and_the_keys_there():
    with pytest.raises(StepDefinitionError, match=r"cohort.SUP has no 'dipid' \(dip_id, mpid\)"):
        templating.render("{{ cohort.SUP.dipid }}", {"cohort": {"SUP": {"dip_id": 1, "mpid": 2}}})


def test_field_names_match_case_insensitively_like_the_dip():
    assert templating.render("{{ m.mpancore }}", {"m": {"MPANCore": "x"}}) == "x"


@pytest.mark.parametrize("bad", ["1abc", "a..b", "a | nosuchfilter"])
def test_malformed_expressions_are_rejected(bad):
    with pytest.raises(ValueError):
        templating.parse_expression(bad)


def test_now_is_a_25_character_dip_timestamp():
    assert len(templating.builtins()["now"]) == 25
    # UK clock midnight, with the offset in force (across BST: tests/test_clock.py)
    assert templating.builtins()["midnight"][10:] in ("T00:00:00+00:00", "T00:00:00+01:00")


def test_expressions_reports_paths():
    found = list(templating.expressions({"a": [{"b": "x {{ y.z }}"}]}))
    assert found == [(("a", 0, "b"), "y.z")]


def test_dates_are_dates_and_times_are_dip_timestamps_as_the_readme_says():
    import datetime as dt

    values = templating.builtins(dt.datetime(2026, 12, 4, 15, 30, tzinfo=dt.UTC))
    assert (values["today"], values["tomorrow"], values["yesterday"]) == ("2026-12-04", "2026-12-05", "2026-12-03")
    assert (values["now"], values["midnight"]) == ("2026-12-04T15:30:00+00:00", "2026-12-04T00:00:00+00:00")


def test_the_checked_template_fields_are_the_ones_the_engine_provides():
    """validate's idea of cohort/participant/env/case fields is the engine's context, not a second copy."""
    from mhhs_sit.definitions.cohorts import load_cohorts
    from mhhs_sit.definitions.environments import load_environment
    from mhhs_sit.definitions.template_names import BUILTIN_SHAPES, leaf_problem
    from tests.helpers import FIXTURES

    cohort = load_cohorts(FIXTURES / "cohorts")[0]["C1"].as_template_value()
    env, _ = load_environment("local", FIXTURES / "environments", FIXTURES, environ={})
    assert env is not None
    context = {"cohort": cohort, "env": env.as_template_value(), "case": {"id": "", "title": "", "scenario": ""}}
    for root, value in context.items():
        for name, below in value.items():
            paths = [(name, leaf) for leaf in below] if isinstance(below, dict) else [(name,)]
            for path in paths:
                assert leaf_problem(root, root, path, BUILTIN_SHAPES[root]) is None, (root, path)
    assert set(BUILTIN_SHAPES) - {"cohort", "env", "case"} <= set(templating.BUILTIN_NAMES)
    assert set(templating.BUILTIN_NAMES) <= set(BUILTIN_SHAPES)
