"""The plugin's NOMAD entry points (group ``nomad.plugin`` in pyproject.toml).

Each is a nomad-lab 2.x entry point object; creating it is cheap, its
``load()`` imports the parser, normalizer or schema code. The app and the
example upload are configuration only.
"""

from __future__ import annotations

from nomad.config.models.plugins import (
    AppEntryPoint,
    ExampleUploadEntryPoint,
    NormalizerEntryPoint,
    ParserEntryPoint,
    SchemaPackageEntryPoint,
)

from ..formats import formats_table
from .app import em_app


class EmRawParserEntryPoint(ParserEntryPoint):
    def load(self):
        from .parser import EmRawParser

        return EmRawParser(**self.model_dump())


class EmNormalizerEntryPoint(NormalizerEntryPoint):
    def load(self):
        from .normalizer import EmNormalizer

        return EmNormalizer()


class EmSchemaPackageEntryPoint(SchemaPackageEntryPoint):
    def load(self):
        from .schema_package import m_package

        return m_package


def parser_description() -> str:
    """The raw-file parser's description, listing the formats of the registry (never by hand)."""
    formats = "; ".join(f"{title} ({extensions})" for _, title, extensions in formats_table())
    return (
        f"Electron-microscopy vendor files, recognised by content, converted to NXem and parsed like an "
        f"uploaded NeXus file: {formats}."
    )


em_raw_parser = EmRawParserEntryPoint(
    name="Electron-microscopy vendor files",
    description=parser_description(),
    mainfile_name_re=r".*",
    mainfile_mime_re=r".*",
)

em_normalizer = EmNormalizerEntryPoint(
    name="Electron-microscopy results",
    description=(
        "Fills results of NXem entries: methods, techniques, signal kinds, instrument, elements, acquisition time."
    ),
    execution_order=10,  # after NOMAD's own normalizers (the results normalizer has level 3)
)

em_schema = EmSchemaPackageEntryPoint(
    name="EM summary",
    description=(
        "The searchable EM summary below the NeXus root of NXem entries (data.em_summary): instrument settings "
        "in SI units, techniques, detector, instrument, sample, per entry and per event."
    ),
)

em_app_entry_point = AppEntryPoint(
    name="Electron Microscopy",
    description="Search app for electron-microscopy (NXem) entries.",
    app=em_app(),
)

em_example_upload = ExampleUploadEntryPoint(
    title="Electron microscopy: raw vendor files",
    category="NeXus Experiment Examples",
    description=(
        "A HAADF-STEM image (Velox EMD), an EDS and an EELS spectrum (EMSA) of SrTiO3 with an ELN YAML: "
        "uploaded as they are, each raw file becomes a searchable NXem entry, no conversion step needed."
    ),
    resources=["nomad/example_upload/*"],
)
