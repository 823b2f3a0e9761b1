"""Privacy audits: PII in outputs, canary exposure, training-data extraction, membership inference."""
