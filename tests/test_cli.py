"""The ``em-plugin`` command's options (the conversions themselves: test_batch, test_session)."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from conftest import em_file
from pynxtools_em_plugin import conversion
from pynxtools_em_plugin.cli import main
from pynxtools_em_plugin.session import DEFAULT_GAP_SECONDS, GAP_ENV


@pytest.fixture
def session_gap(tmp_path, monkeypatch):
    """Runs ``em-plugin session`` on a one-file folder; the gap the conversion was given."""
    folder = tmp_path / "session"
    folder.mkdir()
    shutil.copy(em_file("msa/example1.msa"), folder)
    given = []

    def record(inputs, output, settings):
        given.append(settings.session_gap)
        return conversion.Outcome(tuple(inputs), output, "converted", message=str(output))

    monkeypatch.setattr(conversion, "convert", record)

    def run(*options: str):
        result = CliRunner().invoke(main, ["session", str(folder), "-o", str(tmp_path / "s.nxs"), *options])
        return result, given.pop() if given else None

    return run


def test_session_gap_defaults_to_the_environment_else_300_s(session_gap, monkeypatch):
    monkeypatch.delenv(GAP_ENV, raising=False)
    assert session_gap()[1] == DEFAULT_GAP_SECONDS == 300.0
    monkeypatch.setenv(GAP_ENV, "60")
    assert session_gap()[1] == 60.0
    assert session_gap("--gap", "5")[1] == 5.0  # the option wins


def test_a_bad_gap_in_the_environment_is_a_usage_error(session_gap, monkeypatch):
    monkeypatch.setenv(GAP_ENV, "soon")
    result, gap = session_gap()
    assert result.exit_code == 2 and gap is None
    assert GAP_ENV in result.output and "number of seconds" in result.output


def test_session_help_names_the_default():
    result = CliRunner().invoke(main, ["session", "--help"])
    assert f"${GAP_ENV}, else {DEFAULT_GAP_SECONDS:g}" in " ".join(result.output.split())
