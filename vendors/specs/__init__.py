"""One module per vendor: its SPEC, its effort profiles and the picker that chooses one per model, its quirk hooks."""
