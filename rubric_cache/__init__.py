"""Per-tenant versioned rubrics and the edge's offline cache of them (built in a later issue)."""
