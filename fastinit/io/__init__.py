"""Tier 5, data in and out.

* ``datasets``: the seed's "circles" data and the other bundled generators.
* ``datafiles``: a user's own data from CSV, ``.npy`` and ``.npz`` files.
* ``model_io``: model files (no pickle): ``save_model``, ``load_model``.
* ``_files``: atomic writes and the file checks the writers share.
"""
