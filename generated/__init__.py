"""Output of tools/generate.py. Never edit by hand."""
