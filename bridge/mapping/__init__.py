"""The declarative YAML mapping language: schema, loader, compiler, transforms, lookups, tests."""

from bridge.mapping.catalog import MappingCatalog, default_mappings_dir
from bridge.mapping.loader import load_mapping, mapping_schema
from bridge.mapping.mapping import CompiledMapping
from bridge.mapping.transforms import TRANSFORMS

__all__ = [
    "TRANSFORMS",
    "CompiledMapping",
    "MappingCatalog",
    "default_mappings_dir",
    "load_mapping",
    "mapping_schema",
]
