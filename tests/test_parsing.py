"""The generic vendor-text helpers of pynxtools_em_plugin.parsing: each policy and its edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pynxtools_em_plugin.parsing import (
    decode_text,
    parse_ini,
    parse_number,
    read_head,
    split_value_unit,
    typed_value,
    xml_to_dict,
)

# ---- parse_number ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(5, 5.0), (2.5, 2.5), (np.float32(0.5), 0.5), (np.int64(7), 7.0), ("1e-3", 1e-3), (" 42 ", 42.0), ("-.5", -0.5)],
)
def test_numbers_and_numeric_text(value, expected):
    assert parse_number(value) == expected


@pytest.mark.parametrize("value", [True, np.bool_(False), None, b"5", [1], "", "   ", "abc", "1.#QNAN", "12x0.0"])
def test_not_numbers(value):
    assert parse_number(value) is None
    assert parse_number(value, decimal_comma=True, suffix=True) is None


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-Infinity", "1e999", float("nan"), float("inf")])
def test_nan_and_infinity_only_when_asked(value):
    assert parse_number(value) is None
    assert not math.isfinite(parse_number(value, finite=False) if isinstance(value, float) else float(value))


def test_non_finite_returned_with_finite_false():
    assert math.isinf(parse_number("1e999", finite=False))
    assert math.isnan(parse_number(float("nan"), finite=False))


@pytest.mark.parametrize(("text", "expected"), [("15000,5", 15000.5), ("0,0000016", 1.6e-6), ("2,5e-008", 2.5e-8)])
def test_decimal_comma_only_with_its_policy(text, expected):
    assert parse_number(text) is None
    assert parse_number(text, decimal_comma=True) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["1,000,000", "1,", ",5", "40.0,511.0"])
def test_comma_that_is_no_decimal_comma(text):
    assert parse_number(text, decimal_comma=True) is None


@pytest.mark.parametrize(("text", "expected"), [("22500 X", 22500.0), ("15 kV", 15.0), ("5kV", 5.0), ("3", 3.0)])
def test_unit_suffix_only_with_its_policy(text, expected):
    assert parse_number(text, suffix=True) == expected
    assert parse_number(text) == (expected if text == "3" else None)


@pytest.mark.parametrize("text", ["Sun Feb 21 2016", "1.#QNAN", "12x0.0", "40.0,511.0", "1-2", "3.5.6"])
def test_suffix_policy_never_picks_a_number_out_of_other_text(text):
    assert parse_number(text, suffix=True) is None


def test_decimal_comma_with_a_unit_suffix():
    assert parse_number("0,5 mm", decimal_comma=True, suffix=True) == 0.5
    assert parse_number("0,5 mm", suffix=True) is None


# ---- split_value_unit ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8000 um", (8000.0, "um")),
        ("15000 Volt", (15000.0, "Volt")),
        ("5kV", (5.0, "kV")),
        (" 50.00 K X ", (50.0, "K X")),
    ],
)
def test_split_value_unit(text, expected):
    assert split_value_unit(text) == expected


@pytest.mark.parametrize("text", ["8000", "", "um", "abc 5", 5.0, None, "1e999 V"])
def test_split_value_unit_needs_a_finite_number_then_a_unit(text):
    assert split_value_unit(text) is None


# ---- text and files --------------------------------------------------------------------------


def test_decode_text_utf8_bom_and_fallbacks():
    assert decode_text("µm".encode()) == "µm"
    assert decode_text(b"\xef\xbb\xbf[MAIN]") == "[MAIN]"
    assert decode_text("µm".encode("cp1252")) == "µm"
    assert decode_text(b"\x81\x8d") == "\x81\x8d"  # undefined in cp1252: Latin-1
    assert decode_text(b"") == ""


def test_read_head_never_raises(tmp_path):
    path = tmp_path / "file.bin"
    path.write_bytes(b"0123456789")
    assert read_head(path, 4) == b"0123"
    assert read_head(path) == b"0123456789"
    assert read_head(tmp_path / "missing.bin") == b""
    assert read_head(tmp_path) == b""  # a folder


# ---- INI -------------------------------------------------------------------------------------


def test_ini_sections_repeats_comments_nuls_and_keys_before_any_section():
    text = "top=1\r\n[A]\r\nx = 1\r\n; comment\r\n# also\r\ny=a=b\r\n[B]\r\n[A]\r\nx=2\x00\x00\r\nnot a value\r\n"
    assert parse_ini(text) == {"": {"top": "1"}, "A": {"x": "1", "y": "a=b"}, "B": {}, "A (2)": {"x": "2"}}


def test_ini_typed_values():
    parsed = parse_ini("[S]\nint=5\nfloat=2.5e-3\ncomma=15000,5\ntext=SE\nbool=true\nnan=1.#QNAN\n", typed=True)
    assert parsed["S"] == {
        "int": 5,
        "float": 2.5e-3,
        "comma": "15000,5",
        "text": "SE",
        "bool": "true",
        "nan": "1.#QNAN",
    }


def test_typed_value():
    assert typed_value("7") == 7 and isinstance(typed_value("7"), int)
    assert typed_value("7.0") == 7.0 and isinstance(typed_value("7.0"), float)
    assert typed_value("x7") == "x7"


def test_empty_ini():
    assert parse_ini("") == {}
    assert parse_ini("\ufeff", typed=True) == {}


# ---- XML -------------------------------------------------------------------------------------


def test_xml_to_dict_drops_namespaces_and_types_values():
    text = '<r xmlns="urn:x" xmlns:a="urn:a"><v a:unit="m">2.5</v><v>3</v><t>SE</t></r>'
    assert xml_to_dict(text) == {"r": {"v": [{"#value": 2.5, "unit": "m"}, 3], "t": "SE"}}


def test_xml_decimal_comma_policy():
    assert xml_to_dict("<r><x>2,5E-11</x></r>", decimal_comma=True) == {"r": {"x": 2.5e-11}}
    assert xml_to_dict("<r><x>2,5E-11</x></r>")["r"]["x"] != 2.5e-11  # XmlToDict reads a pair


@pytest.mark.parametrize("text", ["", "<r>", "not xml", "<a></b>"])
def test_xml_not_well_formed_is_a_value_error(text):
    with pytest.raises(ValueError):
        xml_to_dict(text)
