"""ASLL plugin of the Moselle département (57): the 7th PDALPD's ASLL and its commissions."""
