"""Reports, in two kinds named for what they cover.

- `pipeline.report.findings`: one image's findings (check-image, a contract lane),
  as text, JSON, JUnit XML, SARIF 2.1.0 and Markdown.
- `pipeline.report.run`: one run's lanes (validate, verify-stage): the terminal
  table, summary.json, merged JUnit and the Markdown step summary.
"""
