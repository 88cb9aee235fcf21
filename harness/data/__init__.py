"""Benchmark data that does not ship in a package: pinned manifests, the verified fetcher, and the
`rest eval` pre-flight that finds (or fetches) each task's data once, before any model loads."""
