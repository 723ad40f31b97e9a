"""Unit tests of the mapping engine, its schema checks and the named transforms."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pynxtools_em_plugin.errors import MappingTableError
from pynxtools_em_plugin.formats import FORMAT_MODULES
from pynxtools_em_plugin.mapping.engine import apply_rules, parse_table, rules_for, shipped_table
from pynxtools_em_plugin.mapping.transforms import TransformContext
from pynxtools_em_plugin.units import convert_values, round_converted


def table(*mappings: dict, fmt: str = "gatan") -> str:
    return json.dumps({"name": "t", "version": "1", "format": fmt, "mappings": list(mappings)})


def apply(mappings: list[dict], tree: dict, ctx: TransformContext | None = None):
    rules = parse_table(table(*mappings), "t.json").rules
    return apply_rules(rules, tree, ctx or TransformContext())


@pytest.mark.parametrize("name", FORMAT_MODULES)
def test_every_shipped_table_is_valid(name):
    """Against the schema too (which conversions skip for shipped tables)."""
    from importlib import resources

    text = resources.files("pynxtools_em_plugin.mapping").joinpath("tables", f"{name}.json").read_text("utf-8")
    assert parse_table(text, f"{name}.json").rules == shipped_table(name).rules, name


def test_unit_conversion_with_pint():
    result = apply([{"src": "a/V", "dst": "voltage", "src_unit": "V", "dst_unit": "kV"}], {"a": {"V": "200000"}})
    (value,) = result.values
    assert value.value == pytest.approx(200.0)
    assert value.units == "kV"
    assert value.vendor_key == "a/V"


@pytest.mark.parametrize(
    ("value", "source", "target", "expected"),
    [
        (0.32, "m", "mm", 320.0),
        (1e-9, "m", "nm", 1.0),  # pint: 0.9999999999999999
        (1.7, "µm", "nm", 1700.0),  # pint: 1699.9999999999998
        (1.31, "mm", "m", 0.00131),  # pint: 0.0013100000000000002
        (0.123456789012345, "m", "m", 0.123456789012345),  # 15 significant digits: unchanged
        (123456.789012345, "nm", "µm", 123.456789012345),
        (25.0, "degC", "K", 298.15),  # an offset, not a factor
    ],
)
def test_a_converted_float_keeps_15_significant_digits(value, source, target, expected):
    assert convert_values(value, source, target) == expected
    assert convert_values(np.array([value, np.nan]), source, target).tolist()[0] == expected


def test_convert_values_rounds_only_what_it_converts():
    assert convert_values(320.00000000000006, "mm", "mm") == 320.00000000000006  # not converted: as given
    assert convert_values(7, "nm", "nm") == 7 and isinstance(convert_values(7, "nm", "nm"), int)
    assert round_converted(np.array([3, 7])).dtype.kind == "i"  # integers stay integers
    assert round_converted(np.pi) == 3.14159265358979  # the 16th digit and beyond are unit arithmetic's
    assert np.isinf(round_converted(np.inf)) and np.isnan(round_converted(np.nan))
    assert round_converted(np.array([[1699.9999999999998], [-0.0]])).tolist() == [[1700.0], [-0.0]]


def test_a_value_mapped_with_a_unit_loses_the_vendors_float_noise():
    """DigitalMicrograph's own unit arithmetic: a 320 mm camera length recorded as 320.00000000000006."""
    rule = {"src": "mag", "dst": "camera_length", "src_unit": "mm"}
    (value,) = apply([rule], {"mag": 320.00000000000006}).values
    assert (value.value, value.units) == (320.0, "mm")
    (count,) = apply([{"src": "n", "dst": "frames"}], {"n": 7}).values  # no unit: as the vendor wrote it
    assert count.value == 7 and isinstance(count.value, int)


def test_radians_become_degrees_not_silently_copied():
    result = apply([{"src": "t", "dst": "tilt1", "src_unit": "rad", "dst_unit": "degree"}], {"t": np.pi / 2})
    assert result.values[0].value == pytest.approx(90.0)


def test_vector_transform_joins_xyz_in_target_units():
    rule = {"src": ["x", "y", "z"], "dst": "position", "transform": "vector", "src_unit": "m", "dst_unit": "µm"}
    (value,) = apply([rule], {"x": "1e-6", "y": 2e-6, "z": "-3e-6"}).values
    np.testing.assert_allclose(value.value, [1.0, 2.0, -3.0])
    assert value.units == "µm"


def test_first_rule_per_destination_wins_and_fallbacks_apply():
    rules = [{"src": "preferred", "dst": "x"}, {"src": "fallback", "dst": "x"}]
    assert apply(rules, {"preferred": "a", "fallback": "b"}).values[0].value == "a"
    assert apply(rules, {"fallback": "b"}).values[0].value == "b"


def test_skip_values_mean_not_recorded():
    rule = {"src": "current", "dst": "probe_current", "src_unit": "nA", "skip_values": [0]}
    assert apply([rule], {"current": 0.0}).values == []


def test_key_references_select_the_signal_detector():
    tree = {"BinaryResult": {"DetectorIndex": "5"}, "Detectors": {"Detector-5": {"DetectorName": "HAADF"}}}
    rule = {"src": "Detectors/Detector-{BinaryResult/DetectorIndex}/DetectorName", "dst": "name"}
    assert apply([rule], tree).values[0].value == "HAADF"


def test_escaped_slash_in_vendor_key():
    assert apply([{"src": "rate (counts\\/s)", "dst": "x"}], {"rate (counts/s)": 3}).values[0].value == 3


def test_invalid_value_is_one_warning_naming_the_key():
    result = apply([{"src": "HT", "dst": "voltage", "src_unit": "V"}], {"HT": "unknown"})
    assert result.values == []
    assert len(result.warnings) == 1 and "'HT'" in result.warnings[0]


def test_epoch_and_filetime_are_utc_iso8601():
    (epoch,) = apply([{"src": "t", "dst": "start_time", "transform": "epoch_to_iso8601"}], {"t": "1709189884"}).values
    assert epoch.value == "2024-02-29T06:58:04+00:00"
    rule = {"src": "t", "dst": "start_time", "transform": "filetime_to_iso8601"}
    (filetime,) = apply([rule], {"t": 1.3115143597e17}).values
    assert filetime.value.startswith("2016-08-08T15:26:37") and filetime.value.endswith("+00:00")


def test_naive_time_gets_the_assumed_zone_and_a_note():
    from zoneinfo import ZoneInfo

    ctx = TransformContext(ZoneInfo("Europe/Berlin"), "Europe/Berlin")
    rule = {"src": ["d", "t"], "dst": "start_time", "transform": "datetime_to_iso8601"}
    (value,) = apply([rule], {"d": "8/8/2016", "t": "4:26:37 PM"}, ctx).values
    assert value.value == "2016-08-08T16:26:37+02:00"
    assert ctx.notes == ["time without a time zone; assumed Europe/Berlin"]


def test_lookup_and_constant_value():
    rules = [
        {"src": "mode", "dst": "operation_mode", "transform": "lookup", "args": {"table": {"2": "STEM"}}},
        {"src": "version", "dst": "program", "value": "Velox", "scope": "instrument"},
    ]
    values = {v.path: v.value for v in apply(rules, {"mode": "2", "version": "3.1"}).values}
    assert values == {"operation_mode": "STEM", "program": "Velox"}


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("DIFFRACTION", ("camera_length", "mm")), (" diffraction ", ("camera_length", "mm")),
     ("IMAGING", ("magnification", None)), (None, ("magnification", None))],
)  # fmt: skip
def test_when_condition_picks_the_meaning_of_a_value_by_another_key(mode, expected):
    """DM's indicated magnification is a camera length in diffraction mode (an absent mode: imaging)."""
    rules = [
        {"src": "mag", "dst": "magnification", "when": {"key": "mode", "not_in": ["DIFFRACTION"]}},
        {"src": "mag", "dst": "camera_length", "src_unit": "mm", "when": {"key": "mode", "in": ["Diffraction"]}},
    ]
    tree = {"mag": 320.0} if mode is None else {"mag": 320.0, "mode": mode}
    (value,) = apply(rules, tree).values
    assert (value.path, value.units) == expected
    assert value.value == pytest.approx(320.0)


def test_user_table_overrides_shipped_rules():
    user = parse_table(
        table(
            {
                "src": "ImageList/TagGroup0/ImageTags/Microscope Info/Name",
                "dst": "name",
                "scope": "instrument",
                "transform": "text",
                "args": {"separator": ""},
            }
        ),
        "u.json",
    )
    rules = rules_for("gatan", [user])
    assert rules[0].origin == "u.json, entry 0"
    assert len(rules) == 1 + len(shipped_table("gatan").rules)
    assert rules_for("velox", [user]) == shipped_table("velox").rules


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        ({"src": "a"}, "entry 1 (dst '?'), entry: 'dst' is a required property"),
        ({"src": "a", "dst": "x", "src_unit": "parsecs per fortnight"}, "not a unit pint knows"),
        ({"src": "a", "dst": "x", "src_unit": "V", "dst_unit": "m"}, "cannot convert 'V' into 'm'"),
        ({"src": "a", "dst": "x", "transform": "eval"}, "unknown transform 'eval'"),
        ({"src": "a", "dst": "x", "colour": "red"}, "Additional properties are not allowed"),
        ({"src": "a", "dst": "x", "when": {"key": "m", "in": ["D"], "not_in": ["I"]}}, "entry 1 (dst 'x'), when"),
        ({"src": "a", "dst": "x", "when": {"key": "m"}}, "entry 1 (dst 'x'), when"),
    ],
)
def test_bad_table_error_names_table_and_entry(broken, expected):
    with pytest.raises(MappingTableError) as info:
        parse_table(table({"src": "ok", "dst": "fine"}, broken), "facility.json")
    message = str(info.value.message)
    assert "facility.json" in message and expected in message
    if "entry" in expected:
        assert "entry 1" in message


def test_not_json_is_a_clear_error():
    with pytest.raises(MappingTableError, match=r"facility\.json.*not valid JSON"):
        parse_table("{not json", "facility.json")
