"""The runtime guard: input, output and conversation rails around any target, served OpenAI-compatibly.

`policy` (guard.yaml), `rails` (what the rails read), `classify` (the default judge's readings),
`conversation` (running risk per conversation), `engine` (decisions, log, streams), `guarded` (a guarded
`Target`), `server` (the HTTP proxy). Nothing heavy is imported until a guard is built.
"""
