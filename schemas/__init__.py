"""pydantic v2 models of the desired-state YAML and their JSON Schema export; imports nothing of ours."""
