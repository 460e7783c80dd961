"""I/O at the edges: reading input corpora, the work folder between stages, and the exports."""
