"""Tables (pandas) and figures (matplotlib) built from the runs' eval.json files."""
