"""The optional HTTP listener of ``maild serve`` (``[web] listen``): one-click survey
ratings, a health check and Prometheus metrics, on the daemon's own event loop."""
