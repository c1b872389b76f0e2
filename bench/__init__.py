"""maild benchmarks: a deterministic mail corpus (bench.corpus) and the runner (bench.run)."""
