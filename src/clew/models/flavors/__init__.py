"""Built-in model flavors; each registers through the ``clew.model_flavors`` entry point."""
