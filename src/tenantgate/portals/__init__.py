"""The three portals: each its own app, origin, client and trust boundary."""
