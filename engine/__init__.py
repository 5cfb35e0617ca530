"""Shiftboss engine (Trio). Deliberately imports nothing: ``import engine.schema`` must stay light."""
