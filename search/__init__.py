"""Generic passage retrieval: embedders, vector indexes, BM25, rank fusion. Knows nothing of RDF."""
