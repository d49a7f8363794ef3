"""One config per experiment; each preset's docstring holds the command that runs it."""
