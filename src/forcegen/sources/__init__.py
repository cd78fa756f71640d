"""Tools for the claims of scenarios: spreadsheets of claims (:mod:`.sheets`), writing claims
into a scenario file without touching the rest of it (:mod:`.into`), and corroboration of
the numbers different sources give for the same quantity (:mod:`.corroborate`).

These work on the scenario side only: they read and write scenario files and their claims,
and never import the engine.
"""
