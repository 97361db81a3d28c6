"""Outside services: Google Calendar (through google-api-python-client) and token encryption."""
