"""The Slotwise service: configuration, the ASGI app and the `slotwise` command."""
