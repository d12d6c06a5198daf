"""The admin portal."""
