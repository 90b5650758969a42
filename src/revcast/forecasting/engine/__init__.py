"""The forecasting engine: plain Python over data frames (pandas, numpy), no Django imports.

It is fed by ``revcast.forecasting.adapter`` from the database, and can be tested and benchmarked on
plain tables. Modules: ``asof`` (what was known at a date).
"""
