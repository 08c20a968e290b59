"""Alert reads, a module per topic: ``alerts`` (lists, detail, audit), ``notify``
(deliveries, who is on call), ``series`` (telemetry reads for the evaluation)."""
