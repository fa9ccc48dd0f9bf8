"""ASLL plugin of the Orne département (61): internal measures per circonscription and agreed structures."""
