"""salesx2lib: sales operations metrics from CRM data.

Load and validate a dataset with :func:`salesx2lib.load.load_dataset`, then call the
analysis modules (each documents its formulas). Importing the package does nothing else:
no settings are read, no options are set.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
