"""The `redline` command: typer commands that parse options, call the library and print."""
