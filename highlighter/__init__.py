"""Highlighter's engine: find a product in a video, track it, render a highlight.

Files and arrays in, files and arrays out; nothing here knows Django, Celery or S3.
"""
