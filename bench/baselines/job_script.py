"""A job's script for the realistic subjects of the benchmarks (never run: only shipped as an asset)."""

print("processing")
