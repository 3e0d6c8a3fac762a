"""Operations and test tooling: benchmarks, the load test, a local server. The
product (csi_metrics, csi_app, pages) never imports this package."""
