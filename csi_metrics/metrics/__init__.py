"""Metric functions: DuckDB in, Polars out, every figure already suppressed and
placed. Pure, typed, no Streamlit."""
