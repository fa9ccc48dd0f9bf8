"""ASLL plugin of the Loire département (42): CLU, CLT and the 2007 associations."""
