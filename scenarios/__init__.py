"""Example scenarios shipped with iocsim (YAML files beside this one)."""
