"""Streamlit components shared by the pages: the only part of calmops that imports Streamlit."""
