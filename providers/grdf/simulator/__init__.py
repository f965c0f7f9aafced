"""A GRDF ADICT (Gazpar) simulator: the API shape the adapter speaks (see
``providers/grdf/adapter.py`` and docs/holders.md for what is published and what is
assumed), with deterministic synthetic gas data."""
