"""`make bench`: measured figures, not claims."""
