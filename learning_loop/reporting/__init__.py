"""Self-contained HTML reports (inline SVG charts, no network at view time)."""
