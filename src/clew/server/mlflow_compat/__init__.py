"""The MLflow REST API over Clew's services: an unmodified ``mlflow`` client works against
``clew server`` (``MLFLOW_TRACKING_URI=http://clew:5000``).

A thin adapter and nothing more: each route reads MLflow's fields (``protocol.Fields``), calls
the same service method the native API calls (so permission, validation, audit and lineage are
the same for MLflow-client writes), and answers in MLflow's JSON shape (``shapes``). No second
store, no second rule set.

Every RPC is served under ``/api/2.0/mlflow`` and mirrored under ``/ajax-api/2.0/mlflow`` (the
UI's prefix); each feature module will add its routes to a router with ``add_routes(router)``
(in progress: only ``protocol`` exists so far). The
routes are left out of Clew's OpenAPI document: MLflow's API is specified by its protobufs.
"""
