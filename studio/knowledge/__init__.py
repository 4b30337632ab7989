"""Knowledge engine: loaders, cleaning and chunking, the LanceDB index and hybrid retrieval (the only package
that imports lancedb and pyarrow)."""
