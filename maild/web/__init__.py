"""The optional HTTP listener of ``maild serve`` (``[web] listen``): one-click survey
ratings and a health check, on the daemon's own event loop."""
