"""ASLL plugin of the Seine-Maritime département (76): commission locale ASLL and the 2021 référentiel."""
