"""Stage 6, review: what people read — the plan and its tables, capacity, power and BOM figures,
the diff of two clusters and the HTML report with its SVG drawings.
"""
