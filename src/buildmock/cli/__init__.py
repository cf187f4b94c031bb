"""The ``buildmock`` command: thin argument parsing over the library."""
