"""Pure availability rules: no I/O, no framework, the clock passed in."""
