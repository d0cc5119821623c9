"""Lineage: walks of the metadata graph (runs, and the artifacts they read and wrote)."""
