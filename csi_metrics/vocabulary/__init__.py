"""The words every layer shares: codes, Filters, the metric registry and its one
formatter per unit, configuration, errors, and text made safe for each medium."""
