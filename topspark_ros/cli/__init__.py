"""Command-line tools: train, evaluate (and, with later modules, profile, select, demo)."""
