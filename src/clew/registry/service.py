"""Registry use cases. Each public method: authorize → validate → write → audit, one transaction.

The REST API, the MLflow adapter, the CLI and the local client all call these methods, so a
rule lives here once. Registered models, versions and promotions (aliases, stages) live in
their own modules; this class puts them behind one name.
"""

from __future__ import annotations

from clew.registry.alias_service import AliasUseCases
from clew.registry.model_service import ModelUseCases
from clew.registry.promotion import AllowAllPromotions, Promotion, PromotionGuard
from clew.registry.version_service import VersionUseCases

__all__ = ["AllowAllPromotions", "Promotion", "PromotionGuard", "RegistryService"]


class RegistryService(ModelUseCases, VersionUseCases, AliasUseCases):
    """Every registry use case: registered models, versions, aliases, stages, history."""
