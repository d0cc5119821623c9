"""Tracking: experiments, runs, params, metrics, tags, dataset inputs, search and run artifacts."""
