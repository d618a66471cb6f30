"""Z town study helpers."""
