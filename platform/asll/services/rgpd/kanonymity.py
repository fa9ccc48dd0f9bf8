"""k-anonymity of the pseudonymised exports: no rare combination of characteristics names a person.

A pseudonymised export carries no name, free text or exact date (``services/exports``); what
could still single a person out is a rare *combination* of the characteristics it keeps — the
only household of six in a sector with resources of 2 500 € and more. These are its
**quasi-identifiers**, each first shown coarsely:

=====================  ================================================================
age bracket            the statistics' four brackets (« Moins de 25 ans » …)
household size         1 to 5, « 6 et plus »
monthly resources      bands: « Moins de 500 € », « 500 à 999 € » … « 2 500 € et plus »
nature of resources,   as they are
housing status, sector
measure type (nature)  as they are (the type and its nature are one characteristic)
=====================  ================================================================

(the commune and the postcode are left out of the variant: the sector stands for them.)

Every row's combination must be shared by at least *k* rows of the file (the département's
retention policy holds *k*, 5 by default). Rows whose combination is rarer are, step by step,
until their combination is shared by *k* rows: **generalised** (age in two brackets, size in
three, resources in three bands), then their characteristics **masked** — « (masqué) » — one
after the other, resources first and measure type last. A row is never dropped: the file's
counts (per year, say) stay whole, and its last column says, for each row, whether its values
were generalised or masked, and in its header how many rows were.

The steps depend only on the row's combination, so all the rows of a combination move
together, and a combination once shared by *k* rows keeps them: the loop ends after at most
one pass per step. A masked or generalised row could be any row whose shown values agree with
it, so counting identical shown combinations is a lower bound of the crowd it hides in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

MASKED = "(masqué)"
GENERALISED = "généralisées"
MASKED_ROW = "masquées"

# Quasi-identifiers, in the order they are masked (the first goes first).
ORDER = ("resources", "size", "resources_kind", "housing", "age", "sector", "measure_type")

RESOURCE_BANDS = ((500, "Moins de 500 €"), (1000, "500 à 999 €"), (1500, "1 000 à 1 499 €"),
                  (2000, "1 500 à 1 999 €"), (2500, "2 000 à 2 499 €"))
RESOURCE_TOP = "2 500 € et plus"
MAX_SIZE = 6

_COARSE = {
    "resources": {"Moins de 500 €": "Moins de 1 000 €", "500 à 999 €": "Moins de 1 000 €",
                  "1 000 à 1 499 €": "1 000 à 1 999 €", "1 500 à 1 999 €": "1 000 à 1 999 €",
                  "2 000 à 2 499 €": "2 000 € et plus", RESOURCE_TOP: "2 000 € et plus"},
    "age": {"Moins de 25 ans": "Moins de 40 ans", "25 à 39 ans": "Moins de 40 ans",
            "40 à 59 ans": "40 ans et plus", "60 ans et plus": "40 ans et plus"},
    "size": {"1": "1 ou 2", "2": "1 ou 2", "3": "3 à 5", "4": "3 à 5", "5": "3 à 5",
             f"{MAX_SIZE} et plus": f"{MAX_SIZE} et plus"},
}


def resources_band(amount) -> str | None:
    """Monthly resources as their band (never the amount)."""
    if amount is None or amount == "":
        return None
    value = Decimal(str(amount))
    for limit, label in RESOURCE_BANDS:
        if value < limit:
            return label
    return RESOURCE_TOP


def household_size(count) -> str | None:
    if count is None:
        return None
    return f"{MAX_SIZE} et plus" if int(count) >= MAX_SIZE else str(int(count))


@dataclass
class Protection:
    """The steps of each combination of one export, and what the file says about them."""

    k: int
    groups: tuple[str, ...]  # the quasi-identifier of each column of a combination
    steps: dict[tuple, int] = field(default_factory=dict)
    total: int = 0
    generalised: int = 0
    masked: int = 0

    @property
    def last_step(self) -> int:
        return 1 + len(set(self.groups))

    def _masked_groups(self, step: int) -> set[str]:
        present = [g for g in ORDER if g in self.groups]
        return set(present[: max(step - 1, 0)])

    def shown(self, combination: tuple, step: int) -> tuple:
        """The combination as step ``step`` shows it: 0 as is, 1 generalised, 2+ masked one more each."""
        if step == 0:
            return combination
        masked = self._masked_groups(step)
        return tuple(MASKED if group in masked else _COARSE.get(group, {}).get(value, value)
                     for group, value in zip(self.groups, combination, strict=True))

    def plan(self, combinations: Iterable[tuple]) -> Protection:
        """Count the export's combinations (its first pass) and settle each one's step."""
        counts = Counter(combinations)
        self.total = sum(counts.values())
        steps = dict.fromkeys(counts, 0)
        while True:
            crowd = Counter()
            for combination, n in counts.items():
                crowd[self.shown(combination, steps[combination])] += n
            moved = False
            for combination in counts:
                if steps[combination] < self.last_step and crowd[self.shown(combination, steps[combination])] < self.k:
                    steps[combination] += 1
                    moved = True
            if not moved:
                break
        self.steps = steps
        self.generalised = sum(n for c, n in counts.items() if steps[c] == 1)
        self.masked = sum(n for c, n in counts.items() if steps[c] >= 2)
        return self

    def apply(self, combination: tuple) -> tuple[tuple, str]:
        """The combination to write and the row's note; a combination the first pass did not see
        (a row added since) is masked whole."""
        step = self.steps.get(combination, self.last_step)
        note = "" if step == 0 else GENERALISED if step == 1 else MASKED_ROW
        return self.shown(combination, step), note

    def header(self) -> str:
        return (f"Valeurs masquées (k = {self.k} : {self.masked} ligne(s) masquée(s), {self.generalised} "
                f"généralisée(s) sur {self.total})")


def export_k(tenant_id: int) -> int:
    from asll.services.rgpd.policy import policy_for

    return policy_for(tenant_id).export_k
