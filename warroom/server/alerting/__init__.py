"""Alert intake, the pure part: what an Alertmanager notification says (``payload``), how
its labels map to a severity (``severity``), and the titles, timeline lines and entry
details it becomes (``describe``). ``warroom.server.alertmanager`` stores the result."""
