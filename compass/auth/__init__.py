"""Request -> Principal: who is calling, for which tenant, with which scopes."""
