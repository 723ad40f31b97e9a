"""NOMAD Oasis integration (nomad-lab 2.x), installed with the extra ``[nomad]``.

The entry points (``entry_points.py``, group ``nomad.plugin``) are light
objects; their ``load()`` imports the heavy parts:

``parser.py``      raw vendor files -> NXem archive (converted with this package,
                   then mapped by pynxtools' own NeXus parser);
``normalizer.py``  fills ``results`` of every NXem entry (methods, instrument,
                   elements, acquisition time) from ``summary.py``;
``app.py``         the EM search app;
``example_upload/`` the one-click example (data made by ``examples/nomad/``).

``matching.py`` and ``summary.py`` do not import nomad: they are plain code on
top of the format registry and h5py, testable without an Oasis. Nothing outside
this package imports nomad.
"""
