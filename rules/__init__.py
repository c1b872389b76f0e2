"""Rules, assignment strategies and business-time arithmetic.

Pure like ``parsing/``: typed configuration and values in, actions out; no I/O, no clock
read. The rules engine itself lands with the rules issue; until then maild's behaviour is
fixed by the pipeline's defaults.
"""
