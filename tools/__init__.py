"""Build tools: load, overlay, down-convert and merge the four OpenAPI documents, and generate code."""
