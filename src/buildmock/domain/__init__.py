"""Per-vendor domain models: how a vendor's records are planned and rendered. Pure: no I/O.

A module here turns a create request into a JSON-able record (drawing from a seeded synth and
laying out lifecycle timelines) and renders a record as the vendor would send it at a given time.
"""
