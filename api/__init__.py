"""Admin REST API of Learning Loop (FastAPI)."""
