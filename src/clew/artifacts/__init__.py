"""Artifacts: files logged against an owner (a run today), stored as content-addressed blobs.

``paths`` holds the one path validator every entry point uses; ``blobstore`` the sha256-keyed
blob store over fsspec (local folder or S3); ``store`` the ``artifact_files`` SQL; ``service``
the use cases (authorize, validate, write, audit).
"""
