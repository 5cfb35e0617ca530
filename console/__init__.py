"""Shiftboss operator console (Textual). Talks to the engine only through the HTTP API."""
