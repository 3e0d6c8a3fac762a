"""CSI Dashboard data and metrics: ingest CDE files into DuckDB, compute pooled,
privacy-safe metrics with Polars. Never imports Streamlit."""

__version__ = "0.1.0"
