"""Warehouse: the calendar of working days, the state feeds' facts, the subject master, and which months
the warehouse holds from which inputs."""
