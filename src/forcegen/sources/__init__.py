"""Working with the sources a scenario rests on: drafting claims from articles.

This side of forcegen reads texts, never scenarios' results; it never imports the engine.
"""
