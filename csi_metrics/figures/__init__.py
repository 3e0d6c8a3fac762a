"""Figures and files from metric frames: the theme, charts, maps, the projector
adaptation, exports and CSV. Never a query."""
