"""The `redline` command: thin typer commands over the library."""
