"""Codes of the Seine-Maritime plugin, shared by its modules (prefixed with the plugin's name)."""

NAME = "seine_maritime"

COMMISSION_LOCALE = f"{NAME}.commission_locale"
SLS = f"{NAME}.sls"
CCAPEX = f"{NAME}.ccapex"

ACCES = f"{NAME}.acces"
MAINTIEN = f"{NAME}.maintien"
DIAGNOSTIC_CCAPEX = f"{NAME}.diagnostic_ccapex"

# The measures the référentiel's §2 governs (the CCAPEX diagnostic has its own §3).
ASLL_TYPES = (ACCES, MAINTIEN)
OWN_TYPES = (ACCES, MAINTIEN, DIAGNOSTIC_CCAPEX)

# §2.2.1 and §2.2.3: never above eighteen months, whatever happens.
MAX_TOTAL_MONTHS = 18
