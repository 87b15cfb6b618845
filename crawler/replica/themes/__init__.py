"""HTML themes of the replicated sites: pure functions of the world's articles."""
