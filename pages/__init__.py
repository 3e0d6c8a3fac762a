"""Dashboard pages, run by dashboard.py through st.navigation; their Streamlit helpers are csi_app."""
