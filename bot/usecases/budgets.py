"""Error-budget use cases: each catalogued service's budget over its SLO window."""

from __future__ import annotations

from bot.domain.errors import IncidentNotFound
from bot.domain.slo import EMPTY_CATALOG, BudgetReport, SloCatalog, budget_report
from bot.usecases.shared import Transactions


class BudgetUseCases:
    """Budget reports from the SLO catalogue (``slos``) and the incidents that charged it."""

    def __init__(self, transactions: Transactions, slos: SloCatalog = EMPTY_CATALOG) -> None:
        self.transactions = transactions
        self.slos = slos

    def reports(self, service: str | None = None) -> list[BudgetReport]:
        """Each catalogued service's budget over its window ending now (one service if named).

        Raises IncidentNotFound when ``service`` has no SLO in the catalogue.
        """
        now = self.transactions.clock()
        names = [service] if service else self.slos.names()
        reports: list[BudgetReport] = []
        for name in names:
            slo = self.slos.get(name)
            if slo is None:
                known = ", ".join(self.slos.names()) or "none: set INCIDENT_SLO_FILE"
                raise IncidentNotFound(f"There is no SLO for {name!r} in the catalogue (known: {known}).")
            with self.transactions.read() as uow:
                incidents = uow.incidents.list_with_timelines(since=now - slo.window, service=name)
            reports.append(budget_report(slo, incidents, now))
        return reports
