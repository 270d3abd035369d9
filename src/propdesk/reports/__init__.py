"""Report output adapters: text, JSON, HTML with inline SVG charts, CSV, and the digest mail.

Each reads the one report dict ``propdesk.core.report_model.build_report`` lays out; none of
them queries the database or computes a figure.
"""
