"""Audits beyond red teaming: bias, fairness, privacy and differential privacy."""
