"""Error-budget use cases: each catalogued service's budget over its SLO window."""

from __future__ import annotations

from bot.domain.errors import UnknownSlo
from bot.domain.slo import EMPTY_CATALOG, BudgetReport, SloCatalog, budget_report
from bot.usecases.shared import Transactions, corrected_timelines


class BudgetUseCases:
    """Budget reports from the SLO catalogue (``slos``) and the incidents that charged it."""

    def __init__(self, transactions: Transactions, slos: SloCatalog = EMPTY_CATALOG) -> None:
        self.transactions = transactions
        self.slos = slos

    def reports(self, service: str | None = None) -> list[BudgetReport]:
        """Each catalogued service's budget over its window ending now (one service if named).

        Raises UnknownSlo when ``service`` has no SLO in the catalogue (with the closest catalogued name).
        """
        now = self.transactions.clock()
        names = [service] if service else self.slos.names()
        reports: list[BudgetReport] = []
        for name in names:
            slo = self.slos.get(name)
            if slo is None:
                known = ", ".join(self.slos.names()) or "none: set INCIDENT_SLO_FILE"
                close = self.slos.closest(name)
                hint = f" Did you mean {close!r}?" if close else ""
                raise UnknownSlo(f"There is no SLO for {name!r} in the catalogue (known: {known}).{hint}")
            with self.transactions.read() as uow:
                incidents = corrected_timelines(uow.incidents.list_with_timelines(since=now - slo.window, service=name))
            reports.append(budget_report(slo, incidents, now))
        return reports
