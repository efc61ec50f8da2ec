"""Renderers: human (rich), machine (JSON) and JUnit output. The engine never prints; the CLI picks a
renderer and hands it data."""
