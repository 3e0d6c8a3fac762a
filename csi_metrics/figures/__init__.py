"""Figures and files from metric frames: the theme, charts, maps, exports, the deck
format and CSV. Never a query."""
