"""Thin resolvers: authorization, then a domain service, then a schema type."""
