"""The `hapair` command line."""
