"""Handlers called by the triggers in function_app.py."""
