"""Textual UI. The only package that imports Textual; screens stay thin over services."""
