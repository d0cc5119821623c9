"""The shared floor every feature stands on: settings, errors, ids, the database and the audit log.

``core`` imports no feature package; features import ``core``.
"""
