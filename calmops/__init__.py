"""CalmOps: the incident response dashboard's domain package.

The data flows probe → snapshot → rule → incident → brief → decision → timeline → review → report;
each step lives in its own module. Nothing here imports Streamlit except ``calmops.ui``.
"""

__version__ = "0.1.0"
