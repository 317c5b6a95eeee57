"""Stage scripts: thin command-line entry points that DVC runs (`python -m stages.<name>`)."""
