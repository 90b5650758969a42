"""The forecasting engine: plain Python over data frames (pandas, numpy), no Django imports.

It is fed by ``revcast.forecasting.adapter`` from the database, and can be tested and benchmarked on
plain tables. Modules: ``asof`` (what was known at a date), ``features`` (features at each deal's own
time, vectorised; outcomes; labelled training rows), ``winmodel`` (LightGBM win probability, calibrated,
with fallbacks and a model card), ``explain`` (per-deal factors in words), ``synthetic`` (a generated
history with a known driver, for tests and benchmarks).
"""
