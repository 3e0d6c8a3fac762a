"""The Streamlit-aware side of the dashboard: serving it (serve). The pages
(dashboard.py, pages/) and their helpers sit on top; csi_metrics never imports this."""
