"""One module per command group of ``innosim``: ``engine`` (run a model file, info, conformance,
models), ``policy`` (compare, levers, run a scenario), ``sensitivity`` (sensitivity, robustness),
``calibrate`` (calibrate, validate), ``serve`` (the dashboard). ``common`` holds what they share."""
