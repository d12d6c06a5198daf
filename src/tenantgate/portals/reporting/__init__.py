"""The reporting portal."""
