"""Agentic red teaming: tool environments as data, indirect prompt injections, defences, the agent loop and its
metrics (benign utility, utility under attack, targeted attack success), AgentDojo-style. See docs/agentic.md."""
