"""The engine inside other frameworks. Each module imports its framework; nothing in the
assistant itself imports these modules."""
