"""Pure identity rules: no HTTP, no SQL, time passed in."""
