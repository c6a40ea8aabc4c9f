"""The thin command-line layer: typer commands over the library API."""
