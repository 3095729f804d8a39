"""The bottom layer: what every other package shares (errors, paths, devices, seeds, files,
progress). It imports nothing from the rest of ``ganpaint``; see docs/ARCHITECTURE.md."""
