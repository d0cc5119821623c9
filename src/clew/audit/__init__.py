"""Reading the audit log: verify the chain, list and filter events. Writing lives in core.audit."""
