"""A large Alertmanager notification in the shape kube-prometheus sends: one group of
``count`` alerts with twenty labels and four annotations each (no warroom imports, so
``real_world_figures.py`` can send it to any version of the server)."""

from __future__ import annotations


def big_group(count: int, group: str) -> dict:
    alerts = []
    for n in range(count):
        labels = {
            "alertname": "HostHighCpuLoad", "severity": "warning", "instance": f"batch-{n:04d}.example.internal:9100",
            "job": "node", "node": f"batch-{n:04d}", "rack": f"r{n % 40:02d}", "datacenter": "fra1", "pool": "batch",
            "cluster": "batch-eu", "prometheus": "monitoring/k8s", "team": "compute", "env": "prod", "os": "linux",
            "kernel": "6.1.0-18", "cpu_model": "epyc-7543", "owner": "compute-oncall", "tier": "2", "zone": f"fra1-{'abc'[n % 3]}",
            "service": "batch-worker", "region": "eu-central",
        }  # fmt: skip
        alerts.append({
            "status": "firing", "labels": labels,
            "annotations": {
                "summary": f"CPU above 90% on batch-{n:04d}",
                "description": f"Load on batch-{n:04d} has been over 90% for 15 minutes; the scheduler keeps placing "
                "jobs there because their CPU requests fit the node's allocatable headroom.",
                "runbook_url": "https://runbooks.example.internal/node/hosthighcpuload",
                "dashboard": f"https://grafana.example.internal/d/node-exporter?var-instance=batch-{n:04d}&from=now-3h",
            },
            "startsAt": f"2026-11-30T10:{n % 60:02d}:{n // 60 % 60:02d}Z", "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus-k8s-0:9090/graph?g0.expr=node_load1", "fingerprint": f"{group}{n:06d}",
        })  # fmt: skip
    return {
        "receiver": "warroom", "status": "firing", "alerts": alerts, "groupLabels": {"alertname": "HostHighCpuLoad"},
        "commonLabels": {"alertname": "HostHighCpuLoad", "severity": "warning", "job": "node"}, "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093", "version": "4", "groupKey": f'{{}}:{{alertname="HostHighCpuLoad", g="{group}"}}',
        "truncatedAlerts": 0,
    }  # fmt: skip
