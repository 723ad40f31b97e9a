"""Building the NXem template: NXdata layout, metadata placement, raw metadata."""
