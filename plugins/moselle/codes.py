"""Codes of the Moselle plugin, shared by its modules (prefixed with the plugin's name)."""

NAME = "moselle"

DEPARTEMENT = f"{NAME}.departement"
SITUATIONS_ATYPIQUES = f"{NAME}.situations_atypiques"
SOUS_LOCATION = f"{NAME}.sous_location"

ACCES = f"{NAME}.acces"
MAINTIEN = f"{NAME}.maintien"
AIDE_RECHERCHE = f"{NAME}.aide_recherche"
BAIL_GLISSANT = f"{NAME}.bail_glissant"
SITUATION_ATYPIQUE = f"{NAME}.situation_atypique"
PREVENTION_IMPAYES = f"{NAME}.prevention_impayes"

# Action 13 lists the other support measures the ASLL must be articulated with (non-cumulation).
NON_CUMULATION = ("MASP", "MAESF", "MAJ", "MJAGBF")

# Action 14: the ASLL proper, always on a prior social diagnostic.
ASLL_TYPES = (ACCES, MAINTIEN)
# Action 11: which FSL aids go with which measure (accès: moving in; maintien: staying).
FSL_ACCES_TYPES = (ACCES, AIDE_RECHERCHE, BAIL_GLISSANT)
FSL_MAINTIEN_TYPES = (MAINTIEN, PREVENTION_IMPAYES)
OWN_TYPES = (ACCES, MAINTIEN, AIDE_RECHERCHE, BAIL_GLISSANT, SITUATION_ATYPIQUE, PREVENTION_IMPAYES)
