"""Identity use cases.  They talk to storage through the Protocols in ``ports``."""
