"""Sentence meaning for the matcher: a small Chinese BERT encoder run in numpy (no PyTorch), its model
files located and loaded safely, and the knowledge base's embeddings cached on disk."""
