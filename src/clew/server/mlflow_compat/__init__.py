"""The MLflow REST API over Clew's services: an unmodified ``mlflow`` client works against
``clew server`` (``MLFLOW_TRACKING_URI=http://clew:5000``).

A thin adapter and nothing more: each route reads MLflow's fields (``protocol.Fields``), calls
the same service method the native API calls (so permission, validation, audit and lineage are
the same for MLflow-client writes), and answers in MLflow's JSON shape. No second store, no
second rule set.

- ``protocol``: MLflow's wire conventions (fields, proto JSON, error codes and statuses);
- ``uris``: ``mlflow-artifacts:`` roots, handed out and parsed back;
- ``tracking``, ``registry``, ``logged_models``: the RPCs, one module per family, each adding
  its routes to a router with ``add_routes(router)``;
- ``artifacts``: the artifact proxy (``/api/2.0/mlflow-artifacts``) and ``artifacts/list``;
- ``operations``: ``/api/3.0/mlflow/server-info`` and ``/version``;
- ``mount``: puts all of it on the app, under ``/api/2.0/mlflow`` and the UI's mirror
  ``/ajax-api/2.0/mlflow``.

The routes are left out of Clew's OpenAPI document: MLflow's API is specified by its protobufs.
"""
