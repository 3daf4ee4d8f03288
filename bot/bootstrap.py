"""Building the application service from settings: store, SLO catalogue, paging; shared by server and CLI."""

from __future__ import annotations

from bot.config import Settings
from bot.paging import paging_plan
from bot.service import Clock, IncidentService, StandingPlan, utc_now
from bot.slo_catalog import load_catalog
from bot.store import open_store


def build_service(settings: Settings, clock: Clock = utc_now) -> IncidentService:
    """Open (and migrate) the store; read the SLO catalogue; page when PagerDuty is configured."""
    plans: list[StandingPlan] = [paging_plan] if settings.pagerduty_routing_key else []
    slos = load_catalog(settings.slo_file)
    return IncidentService(
        open_store(settings.database_url),
        clock=clock,
        strict_roles=settings.strict_roles,
        slos=slos,
        standing_plans=plans,
    )
