"""Domain packages, one per concept: `model.py` (tables), `repository.py`
(queries, always tenant-scoped), `service.py` (rules). Nothing here knows
GraphQL or HTTP."""
