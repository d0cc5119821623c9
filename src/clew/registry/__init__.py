"""The model registry: registered models, versions, aliases, stages (issue 3)."""
