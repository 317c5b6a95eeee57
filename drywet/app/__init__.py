"""`python -m drywet ...`, the command line for users: `cli` parses the arguments and runs one module
per command (`process`, `export`, `check`, `capture`, `listen_score`, each a `run(args)`). The top
layer: the library never imports it, and what a command decides (recipes, checks) is library code."""
