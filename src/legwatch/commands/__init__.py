"""Typer command functions registered by legwatch.cli."""
