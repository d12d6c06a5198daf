"""HTTP for the identity server: parse → call a use case → render."""
