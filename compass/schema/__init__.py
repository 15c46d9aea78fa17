"""The public contract: strawberry types, inputs, enums and scalars.

Types here never import tables; resolvers convert rows with small functions.
"""
