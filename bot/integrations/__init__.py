"""The rest of the toolchain: alert and change webhooks (Alertmanager, Grafana, CI/CD), PagerDuty,
the SLO catalogue file."""
