"""Grafana dashboards of hapair's Prometheus metrics (`--metrics`): `hapair-proxy.json` for the load
balancer, `hapair-vrrp.json` for the VRRP engine, each showing both nodes of a pair (an `instance`
variable over a Prometheus data source). Installed with the package, to import into Grafana."""
