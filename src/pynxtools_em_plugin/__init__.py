"""pynxtools-em-plugin: electron-microscopy vendor files to NXem NeXus files.

The package is organised so that its layout shows the data flow:

* ``formats/``  one module per vendor format: detect by content, read into the
  common in-memory description of :mod:`pynxtools_em_plugin.model`;
* ``mapping/``  the declarative JSON mapping tables and the engine applying them;
* ``nexus/``    the one place that turns signals and mapped metadata into the
  NXem template that pynxtools validates and writes;
* ``reader.py`` the pynxtools reader plugin (``em_plugin``) tying these together.

Nothing heavy is imported here: format readers import RosettaSciIO lazily.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pynxtools-em-plugin")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"
