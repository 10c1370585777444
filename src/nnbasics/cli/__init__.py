"""The ``nnbasics`` command line."""
