"""The intake step of the rules: one module per step, like :mod:`maild.pipeline.steps`.

This package may import :mod:`maild.pipeline` (the context a step works on); the pipeline
never imports it. :mod:`maild.chains` puts the step into the customer chain.
"""
