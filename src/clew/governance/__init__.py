"""Governance: who may do what (users, tokens, teams, roles), and later promotion requests,
policies and compliance reports."""
