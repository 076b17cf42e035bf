"""Bottom layer: settings and small pure helpers shared by every other layer. Imports nothing of ours."""
