"""What every layer stands on: YAML with locations, durations, the background writer, GC pauses."""
