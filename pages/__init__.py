"""Dashboard pages (run by dashboard.py through st.navigation) and their one helper module, ui.py."""
