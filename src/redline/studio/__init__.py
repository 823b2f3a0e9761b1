"""redline studio: a web workspace on the results store for human red teamers and labellers.

Pages: Runs (list, summary, report), Label (`human:NAME` verdicts), Agreement (kappa between people and per
judge), Probe (chat with a configured target; findings saved as attempts of a `manual` run). Needs the
`[studio]` extra (starlette, uvicorn, jinja2); nothing here is imported by `import redline`.
"""
