"""Use cases: load with db, decide with domain, commit."""
